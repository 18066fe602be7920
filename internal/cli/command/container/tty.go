package container

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/berth-engine/berth/internal/cli/command"
)

// errNotTTY is docker's refusal of -t with -i when stdin is not a terminal.
var errNotTTY = errors.New("the input device is not a TTY")

// terminalFd returns the descriptor behind a stream when it is a terminal.
func terminalFd(stream any) (int, bool) {
	f, ok := stream.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// checkTTY refuses an attached stdin with a TTY when stdin is not one.
func checkTTY(cli *command.Cli, attachStdin, tty bool) error {
	if !tty || !attachStdin {
		return nil
	}
	if _, ok := terminalFd(cli.Stdin()); !ok {
		return errNotTTY
	}
	return nil
}

// ttySize is the size of the client's terminal, from its output (as
// docker) or else its input; ok is false when neither is a terminal.
func ttySize(cli *command.Cli) (height, width uint, ok bool) {
	for _, s := range []any{cli.Out(), cli.Stdin()} {
		if fd, isTerm := terminalFd(s); isTerm {
			w, h, err := term.GetSize(fd)
			if err == nil && w > 0 && h > 0 {
				return uint(h), uint(w), true
			}
		}
	}
	return 0, 0, false
}

// outIsTerminal is docker's condition for following the terminal's size.
func outIsTerminal(cli *command.Cli) bool {
	_, ok := terminalFd(cli.Out())
	return ok
}

// monitorTTYSize sends the terminal's size now (retrying briefly: a just
// started process may not have its terminal yet) and again on every
// SIGWINCH, until ctx ends.
func monitorTTYSize(ctx context.Context, cli *command.Cli, resize func(ctx context.Context, height, width uint) error) {
	send := func() error {
		h, w, ok := ttySize(cli)
		if !ok {
			return nil
		}
		return resize(ctx, h, w)
	}
	winch := make(chan os.Signal, 1)
	notifyResize(winch)
	go func() {
		for i := 0; i < 5 && ctx.Err() == nil; i++ {
			if send() == nil {
				return
			}
			time.Sleep(time.Duration(10<<i) * time.Millisecond)
		}
	}()
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-winch:
				_ = send()
			case <-ctx.Done():
				return
			}
		}
	}()
}

// rawInput puts the client's stdin terminal in raw mode, so keys (ctrl-c,
// ctrl-p ctrl-q) reach the container's terminal as bytes. The returned
// restore is safe to call more than once. A SIGHUP or SIGQUIT restores the
// terminal before the signal's default action ends berth; SIGINT and
// SIGTERM cancel the command's context and restore on the way out.
func rawInput(in io.Reader) (restore func(), err error) {
	fd, ok := terminalFd(in)
	if !ok {
		return func() {}, nil
	}
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	var restoreOnce, stopOnce sync.Once
	restoreTerm := func() { restoreOnce.Do(func() { _ = term.Restore(fd, state) }) }
	stopWatch := restoreOnFatalSignals(restoreTerm)
	return func() {
		stopOnce.Do(func() {
			stopWatch()
			restoreTerm()
		})
	}, nil
}

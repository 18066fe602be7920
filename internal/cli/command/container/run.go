package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type runOptions struct {
	createOptions
	detach     bool
	detachKeys string
	sigProxy   bool
}

// NewRunCommand returns `berth container run` (also `berth run`).
func NewRunCommand(cli *command.Cli) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), cli, cmd, &opts, args)
		},
	}
	f := cmd.Flags()
	addCreateFlags(f, &opts.createOptions)
	f.BoolVarP(&opts.detach, "detach", "d", false, "Run container in background and print container ID")
	f.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	f.BoolVar(&opts.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	return cmd
}

func runRun(ctx context.Context, cli *command.Cli, cmd *cobra.Command, opts *runOptions, args []string) error {
	if opts.detach && len(opts.attach) > 0 {
		return command.StatusError{Status: "conflicting options: cannot specify both --attach and --detach", StatusCode: 1}
	}
	cfg, hc, err := opts.parse(cmd.Flags(), args)
	if err != nil {
		return withHelp(err, "run")
	}
	if opts.detach {
		cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr, cfg.StdinOnce = false, false, false, false
	} else if err := checkTTY(cli, cfg.AttachStdin, cfg.Tty); err != nil {
		return command.StatusError{Status: err.Error(), StatusCode: 1}
	}
	if cfg.Tty {
		if h, w, ok := ttySize(cli); ok {
			hc.ConsoleSize = [2]uint{h, w}
		}
	}
	id, err := createContainer(ctx, cli, &opts.createOptions, cfg, hc)
	if err != nil {
		return withHelp(err, "run")
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	if opts.detach {
		if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return startError(err)
		}
		fmt.Fprintln(cli.Out(), id)
		return nil
	}
	status, err := runForeground(ctx, cli, api, foreground{
		id:         id,
		tty:        cfg.Tty,
		stdin:      cfg.AttachStdin,
		stdout:     cfg.AttachStdout,
		stderr:     cfg.AttachStderr,
		detachKeys: opts.detachKeys,
		sigProxy:   opts.sigProxy,
		autoRemove: opts.rm,
	})
	var (
		sf startFailed
		af attachFailed
	)
	neverRan := errors.As(err, &sf) || errors.As(err, &af)
	if neverRan && opts.rm {
		// A container that never ran is not removed by the daemon.
		_, _ = api.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
	}
	switch {
	case errors.Is(err, errDetached):
		return nil
	case errors.As(err, &sf):
		return startError(sf.err)
	case errors.As(err, &af):
		return withHelp(af.err, "run")
	case err != nil:
		return err
	}
	if status != 0 {
		return command.StatusError{StatusCode: status}
	}
	return nil
}

// foreground is a container run with the client attached: run, start -a.
type foreground struct {
	id                    string
	tty                   bool
	stdin, stdout, stderr bool
	detachKeys            string
	sigProxy              bool // forward signals (ignored with a TTY)
	autoRemove            bool // wait for the removal, not the exit
}

// startFailed and attachFailed say which step of a foreground run failed;
// run maps them to docker's exit codes.
type startFailed struct{ err error }

func (e startFailed) Error() string { return e.err.Error() }

type attachFailed struct{ err error }

func (e attachFailed) Error() string { return e.err.Error() }

// runForeground attaches to fg.id, starts it, streams until the output
// ends and returns the container's exit status. errDetached means the user
// left it running with the detach keys.
//
//	berth                                     berthd
//	  POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1
//	     Upgrade: tcp ───────────────────────▶ 101 UPGRADED (hijacked conn)
//	  POST /containers/{id}/wait?condition=next-exit|removed
//	                   ◀──────────────────────  200 + headers now, body at exit
//	  POST /containers/{id}/start ──────────▶ 204
//	  POST /containers/{id}/resize?h=&w= ───▶ 200   (TTY: now and on SIGWINCH)
//	  POST /containers/{id}/kill?signal= ───▶ 204   (--sig-proxy, no TTY)
//	  stdin bytes ──────────────────────────▶ (EOF: CloseWrite, the process's stdin ends)
//	                   ◀──────────────────────  output: raw (TTY) or 8-byte frames
//	                   ◀──────────────────────  conn closed once the output is delivered
//	                   ◀──────────────────────  wait body {"StatusCode": n}
//
// With --sig-proxy the command's context is not cancelled by SIGINT or
// SIGTERM (they are forwarded to the container instead); the stream ends
// when the container does, or after a third such signal.
func runForeground(ctx context.Context, cli *command.Cli, api command.APIClient, fg foreground) (status int, err error) {
	runCtx, cancel := context.WithCancel(ctx)
	if fg.sigProxy && !fg.tty {
		runCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		var gaveUp atomic.Bool
		stop := forwardSignals(runCtx, cli, api, fg.id, func() {
			gaveUp.Store(true)
			cancel()
		})
		defer stop()
		defer func() {
			if gaveUp.Load() {
				// docker's forced exit: its message was printed, status 1.
				status, err = 0, command.StatusError{StatusCode: 1}
			}
		}()
	}
	defer cancel()

	var (
		att      client.ContainerAttachResult
		attached = fg.stdin || fg.stdout || fg.stderr
		streamed = make(chan error, 1)
	)
	if attached {
		var err error
		att, err = api.ContainerAttach(runCtx, fg.id, client.ContainerAttachOptions{
			Stream: true, Stdin: fg.stdin, Stdout: fg.stdout, Stderr: fg.stderr, DetachKeys: fg.detachKeys,
		})
		if err != nil {
			return 0, attachFailed{err}
		}
		defer att.Close()
	}
	cond := container.WaitConditionNextExit
	if fg.autoRemove {
		cond = container.WaitConditionRemoved
	}
	wait := api.ContainerWait(runCtx, fg.id, client.ContainerWaitOptions{Condition: cond})

	if attached {
		sess := newIOSession(cli, fg.stdin, fg.tty, fg.detachKeys)
		go func() { streamed <- sess.stream(runCtx, att.HijackedResponse) }()
	}
	if _, err := api.ContainerStart(runCtx, fg.id, client.ContainerStartOptions{}); err != nil {
		if attached {
			att.Close()
			<-streamed
		}
		return 0, startFailed{err}
	}
	if fg.tty && outIsTerminal(cli) {
		monitorTTYSize(runCtx, cli, func(ctx context.Context, h, w uint) error {
			_, err := api.ContainerResize(ctx, fg.id, client.ContainerResizeOptions{Height: h, Width: w})
			return err
		})
	}
	if attached {
		// The daemon ends the attach stream once the output is delivered.
		if err := <-streamed; err != nil {
			if errors.Is(err, errDetached) || runCtx.Err() != nil {
				return 0, err
			}
			return 0, fmt.Errorf("error attaching to the container: %w", err)
		}
	}
	select {
	case r := <-wait.Result:
		if r.Error != nil && r.Error.Message != "" {
			return 125, command.StatusError{Status: r.Error.Message, StatusCode: 125}
		}
		return int(r.StatusCode), nil
	case err := <-wait.Error:
		return 0, command.StatusError{Status: fmt.Sprintf("Error waiting for container: %v", err), StatusCode: 125}
	case <-runCtx.Done():
		return 0, runCtx.Err()
	}
}

// startError maps a failed start to docker's exit codes: 127 when the
// command is not found, 126 when it cannot be invoked, else 125.
func startError(err error) error {
	msg := err.Error()
	code := 125
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") || strings.Contains(msg, "system error: exec"):
		code = 127
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "exec format error"):
		code = 126
	}
	se := withHelp(err, "run").(command.StatusError)
	se.StatusCode = code
	return se
}

package cli

import (
	"encoding/binary"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/runtime/container"
)

// signalForwarder relays the signals berth-runtime receives to a container
// process while `run` or `exec` waits for it in the foreground.
type signalForwarder struct {
	sigs     chan os.Signal
	notified chan struct{}
}

// forwardSignals starts catching every signal unless detached. Under `run`
// most signals are blocked since before Go started and wait on a signalfd
// (container.RunSignals); only the others go through os/signal, whose
// registration is a round trip with the runtime's signal thread each
// (~10 us here). Without the signalfd every signal is registered, in the
// background while the caller creates the process; ready waits for it.
func forwardSignals(detach bool) *signalForwarder {
	f := &signalForwarder{sigs: make(chan os.Signal, 64), notified: make(chan struct{})}
	sigfd, blocked := container.RunSignals()
	if detach {
		if sigfd != nil {
			sigfd.Close()
		}
		close(f.notified)
		return f
	}
	if sigfd == nil {
		go func() {
			signal.Notify(f.sigs)
			close(f.notified)
		}()
		return f
	}
	var rest []os.Signal
	for s := 1; s <= 64; s++ {
		switch unix.Signal(s) {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE, unix.SIGPROF:
			continue // not deliverable, or not forwarded (see wait)
		}
		if blocked&(1<<(s-1)) == 0 {
			rest = append(rest, unix.Signal(s))
		}
	}
	go func() {
		signal.Notify(f.sigs, rest...)
		close(f.notified)
	}()
	go f.readSignalfd(sigfd)
	return f
}

// readSignalfd passes what the signalfd reads on as if os/signal had.
func (f *signalForwarder) readSignalfd(sigfd *os.File) {
	defer sigfd.Close()
	buf := make([]byte, 128*8) // struct signalfd_siginfo is 128 bytes
	for {
		n, err := sigfd.Read(buf)
		if err != nil {
			return
		}
		for i := 0; i+128 <= n; i += 128 {
			f.sigs <- unix.Signal(binary.NativeEndian.Uint32(buf[i:]))
		}
	}
}

func (f *signalForwarder) ready() { <-f.notified }

// wait waits for the process with waitFn while passing signals to it with
// send (a terminal resize goes to the pty instead) and returns its exit
// code, 255 when it could not be waited for.
func (f *signalForwarder) wait(waitFn func() (int, error), send func(unix.Signal), tty *ttyProxy) int {
	done := make(chan int, 1)
	go func() {
		code, err := waitFn()
		if err != nil {
			code = 255
		}
		done <- code
	}()
	for {
		select {
		case code := <-done:
			if tty != nil {
				tty.drain()
			}
			return code
		case s := <-f.sigs:
			switch sig := s.(unix.Signal); sig {
			case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
				// SIGURG is the Go runtime's own preemption signal.
			case unix.SIGWINCH:
				if tty != nil {
					tty.resize()
				}
			default:
				send(sig)
			}
		}
	}
}

package cli

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// signalForwarder relays the signals berth-runtime receives to a container
// process while `run` or `exec` waits for it in the foreground.
type signalForwarder struct {
	sigs     chan os.Signal
	notified chan struct{}
}

// forwardSignals starts catching every signal unless detached. Registering
// for all of them takes ~1.5 ms (one sigaction each), so it happens in the
// background while the caller creates the process; ready waits for it.
func forwardSignals(detach bool) *signalForwarder {
	f := &signalForwarder{sigs: make(chan os.Signal, 64), notified: make(chan struct{})}
	if detach {
		close(f.notified)
		return f
	}
	go func() {
		signal.Notify(f.sigs)
		close(f.notified)
	}()
	return f
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

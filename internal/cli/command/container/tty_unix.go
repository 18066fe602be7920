//go:build unix

package container

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyResize delivers the terminal's size changes (SIGWINCH) to c.
func notifyResize(c chan<- os.Signal) { signal.Notify(c, syscall.SIGWINCH) }

// restoreOnFatalSignals calls restore before a SIGHUP or SIGQUIT ends the
// process with the signal's default action, until the returned stop.
func restoreOnFatalSignals(restore func()) (stop func()) {
	done := make(chan struct{})
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		select {
		case s := <-sigc:
			restore()
			signal.Reset(s)
			_ = syscall.Kill(os.Getpid(), s.(syscall.Signal))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigc)
		close(done)
	}
}

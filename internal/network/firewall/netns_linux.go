package firewall

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inNetNS runs fn on an OS thread that has joined the network namespace at
// path ("" runs fn where the caller is). Processes fn starts (the iptables
// binary) inherit the thread's namespace. If the thread cannot return to its
// namespace it stays locked, so the Go runtime ends it with the goroutine
// instead of reusing it.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	done := make(chan error, 1)
	// A goroutine of its own: if it cannot return its thread to the
	// original namespace, it exits still locked and the runtime discards
	// the thread.
	go func() {
		runtime.LockOSThread()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("firewall: network namespace: %w", err)
			return
		}
		defer target.Close()
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("firewall: network namespace: %w", err)
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("firewall: join network namespace %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("firewall: leave network namespace %s: %w", path, err)
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

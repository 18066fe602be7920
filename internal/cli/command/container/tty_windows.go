package container

import "os"

// notifyResize: Windows consoles have no SIGWINCH; the size sent at the
// start stays.
func notifyResize(chan<- os.Signal) {}

// restoreOnFatalSignals: console close events are not handled; the
// terminal is restored when the command returns.
func restoreOnFatalSignals(func()) (stop func()) { return func() {} }

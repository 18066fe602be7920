//go:build linux

package bridge

import "runtime"

// lockThread pins the goroutine to its thread for good: the thread exits
// with the goroutine, taking any namespace it entered along.
func lockThread() { runtime.LockOSThread() }

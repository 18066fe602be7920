//go:build !linux

package seccomp

func noNewPrivsSet() (bool, error) { return false, ErrUnsupported }

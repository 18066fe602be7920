//go:build !linux

package rootfs

import "errors"

var errUnsupported = errors.New("rootfs: container filesystems are only supported on Linux")

// Prepare is only implemented on Linux.
func Prepare(cfg *Config) error { return errUnsupported }

// Pivot is only implemented on Linux.
func Pivot(cfg *Config) error { return errUnsupported }

// BindConsole is only implemented on Linux.
func BindConsole(slavePath string) error { return errUnsupported }

// Finish is only implemented on Linux.
func Finish(cfg *Config) error { return errUnsupported }

// Cleanup is only implemented on Linux.
func Cleanup(rootfs string) error { return errUnsupported }

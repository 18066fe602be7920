//go:build !linux

package mount

import "errors"

var errUnsupported = errors.New("mounts are supported on Linux only")

// Mount performs m on target.
func (m Mount) Mount(target string) error { return errUnsupported }

// All performs ms in order on target.
func All(ms []Mount, target string) error { return errUnsupported }

// UnmountAll unmounts everything stacked on target.
func UnmountAll(target string) error { return errUnsupported }

//go:build !linux

package caps

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var errUnsupported = errors.New("caps: capabilities are only supported on linux")

// Apply is not supported off Linux.
func Apply(c *specs.LinuxCapabilities) ([]string, error) { return nil, errUnsupported }

// ApplyBounding is not supported off Linux.
func ApplyBounding(c *specs.LinuxCapabilities) ([]string, error) { return nil, errUnsupported }

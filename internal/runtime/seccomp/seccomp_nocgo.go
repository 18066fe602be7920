//go:build !linux || !cgo

package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Load would install cfg; this build has no libseccomp, so any non-nil
// profile is an error wrapping ErrUnsupported.
func Load(cfg *specs.LinuxSeccomp) error {
	if cfg == nil {
		return nil
	}
	return fmt.Errorf("seccomp: load: %w", ErrUnsupported)
}

// Validate would check cfg; this build has no libseccomp, so any non-nil
// profile is an error wrapping ErrUnsupported.
func Validate(cfg *specs.LinuxSeccomp) error {
	if cfg == nil {
		return nil
	}
	return fmt.Errorf("seccomp: validate: %w", ErrUnsupported)
}

// Compile would compile cfg; this build has no libseccomp, so any non-nil
// profile is an error wrapping ErrUnsupported.
func Compile(cfg *specs.LinuxSeccomp) (*Program, error) {
	if cfg == nil {
		return nil, nil
	}
	return nil, fmt.Errorf("seccomp: compile: %w", ErrUnsupported)
}

// CompileCached would compile cfg through a cache in dir; this build has no
// libseccomp, so any non-nil profile is an error wrapping ErrUnsupported.
func CompileCached(dir string, cfg *specs.LinuxSeccomp) (*Program, error) {
	return Compile(cfg)
}

//go:build !linux

package seccomp

import "fmt"

// Install is not supported off Linux.
func (p *Program) Install() error {
	if p == nil {
		return nil
	}
	return fmt.Errorf("seccomp: install: %w", ErrUnsupported)
}

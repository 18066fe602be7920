//go:build !linux

package dns

import (
	"fmt"

	"github.com/berth-engine/berth/internal/errdefs"
)

func redirect(string, uint16, uint16) error {
	return fmt.Errorf("redirect needs Linux: %w", errdefs.ErrNotImplemented)
}

func unredirect(string) {}

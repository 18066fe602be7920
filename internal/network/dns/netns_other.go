//go:build !linux

package dns

import (
	"fmt"

	"github.com/berth-engine/berth/internal/errdefs"
)

func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return fmt.Errorf("network namespaces need Linux: %w", errdefs.ErrNotImplemented)
}

func loopbackUp() error { return nil }

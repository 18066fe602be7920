//go:build !linux

package portmap

import (
	"fmt"
	"net/netip"

	"github.com/berth-engine/berth/internal/errdefs"
)

func holdPort(proto string, hostAddr netip.AddrPort) (proxy, error) {
	return nil, fmt.Errorf("publishing %s ports needs Linux: %w", proto, errdefs.ErrNotImplemented)
}

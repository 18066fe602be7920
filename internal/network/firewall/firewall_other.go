//go:build !linux

package firewall

import (
	"context"
	"fmt"

	"github.com/berth-engine/berth/internal/errdefs"
)

func newIPTables(context.Context, Options) (Backend, error) {
	return nil, fmt.Errorf("firewall: iptables needs Linux: %w", errdefs.ErrNotImplemented)
}

func newNFTables(context.Context, Options) (Backend, error) {
	return nil, fmt.Errorf("firewall: nftables needs Linux: %w", errdefs.ErrNotImplemented)
}

package firewall

import (
	"context"
	"fmt"

	"github.com/berth-engine/berth/internal/errdefs"
)

func newNFTables(ctx context.Context, opts Options) (Backend, error) {
	return nil, fmt.Errorf("firewall: nftables: %w", errdefs.ErrNotImplemented)
}

package vfs

import (
	"context"
	"testing"

	"github.com/berth-engine/berth/internal/snapshot"
	"github.com/berth-engine/berth/internal/snapshot/testsuite"
)

func TestVFS(t *testing.T) {
	testsuite.Run(t, func(ctx context.Context, root string) (snapshot.Snapshotter, error) {
		return New(ctx, root)
	})
}

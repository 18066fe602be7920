package overlay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-engine/berth/internal/snapshot"
	"github.com/berth-engine/berth/internal/snapshot/testsuite"
)

func TestOverlay(t *testing.T) {
	testsuite.Run(t, func(ctx context.Context, root string) (snapshot.Snapshotter, error) {
		return New(ctx, root)
	})
}

func TestOrphanDirectoryRemoved(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := New(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(ctx, "kept", ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A crash between a directory's creation and its transaction's commit.
	orphan := filepath.Join(root, "snapshots", "999")
	if err := os.MkdirAll(filepath.Join(orphan, "fs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err = New(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Fatalf("orphan kept: %v", err)
	}
	if _, err := s.Mounts(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "snapshots", "1", "fs")); err != nil {
		t.Fatalf("live snapshot removed: %v", err)
	}
}

func TestTooManyLayers(t *testing.T) {
	ctx := context.Background()
	s, err := New(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	parent := ""
	for i := 0; ; i++ {
		key := fmt.Sprintf("a%d", i)
		if _, err := s.Prepare(ctx, key, parent); err != nil {
			if !errors.Is(err, snapshot.ErrInvalidArgument) {
				t.Fatalf("layer %d: %v", i, err)
			}
			if i < 50 {
				t.Fatalf("only %d layers fit", i)
			}
			return
		}
		parent = fmt.Sprintf("L%d", i)
		if err := s.Commit(ctx, parent, key); err != nil {
			t.Fatal(err)
		}
	}
}

package overlay

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-engine/berth/internal/archive"
	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
)

// TestChangesAndReadOnlyMounts: a container-like snapshot over two layers
// is changed through its overlay mount; Changes lists what changed and
// ReadOnlyMounts shows the same tree, read-only.
func TestChangesAndReadOnlyMounts(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("overlay mounts need root")
	}
	ctx := context.Background()
	s, err := New(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write := func(ms []mount.Mount, fn func(root string) error) {
		t.Helper()
		if err := mount.WithTempMount(ctx, ms, fn); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := s.Prepare(ctx, "l1-active", "")
	if err != nil {
		t.Fatal(err)
	}
	write(ms, func(root string) error {
		os.MkdirAll(filepath.Join(root, "etc"), 0o755)
		os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root"), 0o644)
		return os.WriteFile(filepath.Join(root, "gone"), []byte("x"), 0o644)
	})
	if err := s.Commit(ctx, "l1", "l1-active"); err != nil {
		t.Fatal(err)
	}
	ms, err = s.Prepare(ctx, "l2-active", "l1")
	if err != nil {
		t.Fatal(err)
	}
	write(ms, func(root string) error { return os.WriteFile(filepath.Join(root, "l2file"), nil, 0o644) })
	if err := s.Commit(ctx, "l2", "l2-active"); err != nil {
		t.Fatal(err)
	}
	ms, err = s.Prepare(ctx, "ctr", "l2")
	if err != nil {
		t.Fatal(err)
	}
	write(ms, func(root string) error {
		os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root\nuser"), 0o644)
		os.Remove(filepath.Join(root, "gone"))
		return os.WriteFile(filepath.Join(root, "new"), []byte("n"), 0o644)
	})

	changes, err := s.Changes(ctx, "ctr")
	if err != nil {
		t.Fatal(err)
	}
	// /etc was copied up unchanged (same mtime): only its file changed.
	want := map[string]archive.ChangeKind{"/etc/passwd": archive.ChangeModify, "/gone": archive.ChangeDelete, "/new": archive.ChangeAdd}
	if len(changes) != len(want) {
		t.Errorf("changes %v, want %v", changes, want)
	}
	for _, c := range changes {
		if k, ok := want[c.Path]; !ok || k != c.Kind {
			t.Errorf("change %v, want %v", c, want)
		}
	}
	if _, err := s.Changes(ctx, "l2"); !errors.Is(err, snapshot.ErrFailedPrecondition) {
		t.Errorf("changes of a committed snapshot: %v", err)
	}
	if _, err := s.Changes(ctx, "nosuch"); !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("changes of a missing snapshot: %v", err)
	}

	ro, err := s.ReadOnlyMounts(ctx, "ctr")
	if err != nil {
		t.Fatal(err)
	}
	write(ro, func(root string) error {
		for name, content := range map[string]string{"etc/passwd": "root\nuser", "new": "n", "l2file": ""} {
			b, err := os.ReadFile(filepath.Join(root, name))
			if err != nil || string(b) != content {
				t.Errorf("%s: %q %v", name, b, err)
			}
		}
		if _, err := os.Stat(filepath.Join(root, "gone")); !os.IsNotExist(err) {
			t.Errorf("deleted file shows: %v", err)
		}
		if err := os.WriteFile(filepath.Join(root, "x"), nil, 0o644); err == nil {
			t.Error("read-only mount took a write")
		}
		return nil
	})
	// The writable snapshot is untouched and still mounts.
	ms, err = s.Mounts(ctx, "ctr")
	if err != nil {
		t.Fatal(err)
	}
	write(ms, func(root string) error {
		_, err := os.Stat(filepath.Join(root, "new"))
		return err
	})
}

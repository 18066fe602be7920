// Package testsuite is the conformance suite every snapshot.Snapshotter runs:
// error contracts unprivileged, then (as root) real mounts under t.TempDir
// that are unmounted before the test ends.
package testsuite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
	"github.com/berth-engine/berth/internal/testutil"
)

// New opens a snapshotter rooted in root.
type New func(ctx context.Context, root string) (snapshot.Snapshotter, error)

// Run runs the suite against the snapshotters newSn makes.
func Run(t *testing.T, newSn New) {
	t.Run("Errors", func(t *testing.T) { testErrors(t, newSn) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newSn) })
	t.Run("Layers", func(t *testing.T) { testLayers(t, newSn) })
}

func open(t *testing.T, newSn New, root string) snapshot.Snapshotter {
	t.Helper()
	s, err := newSn(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testErrors(t *testing.T, newSn New) {
	ctx := context.Background()
	s := open(t, newSn, t.TempDir())
	must := func(_ []mount.Mount, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Prepare(ctx, "base-active", ""))
	if err := s.Commit(ctx, "base", "base-active"); err != nil {
		t.Fatal(err)
	}
	must(s.Prepare(ctx, "child", "base"))
	must(s.View(ctx, "view", "base"))

	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"prepare existing key", func() error { _, err := s.Prepare(ctx, "child", "base"); return err }, snapshot.ErrAlreadyExists},
		{"prepare missing parent", func() error { _, err := s.Prepare(ctx, "x", "nope"); return err }, snapshot.ErrNotFound},
		{"prepare on active parent", func() error { _, err := s.Prepare(ctx, "x", "child"); return err }, snapshot.ErrFailedPrecondition},
		{"view on view", func() error { _, err := s.View(ctx, "x", "view"); return err }, snapshot.ErrFailedPrecondition},
		{"prepare empty key", func() error { _, err := s.Prepare(ctx, "", ""); return err }, snapshot.ErrInvalidArgument},
		{"commit view", func() error { return s.Commit(ctx, "x", "view") }, snapshot.ErrFailedPrecondition},
		{"commit committed", func() error { return s.Commit(ctx, "x", "base") }, snapshot.ErrFailedPrecondition},
		{"commit over existing name", func() error { return s.Commit(ctx, "base", "child") }, snapshot.ErrAlreadyExists},
		{"commit missing", func() error { return s.Commit(ctx, "x", "nope") }, snapshot.ErrNotFound},
		{"mounts of committed", func() error { _, err := s.Mounts(ctx, "base"); return err }, snapshot.ErrFailedPrecondition},
		{"mounts of missing", func() error { _, err := s.Mounts(ctx, "nope"); return err }, snapshot.ErrNotFound},
		{"stat missing", func() error { _, err := s.Stat(ctx, "nope"); return err }, snapshot.ErrNotFound},
		{"remove parent", func() error { return s.Remove(ctx, "base") }, snapshot.ErrFailedPrecondition},
		{"remove missing", func() error { return s.Remove(ctx, "nope") }, snapshot.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// Failed calls changed nothing.
	n := 0
	if err := s.Walk(ctx, func(snapshot.Info) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("walk: %d snapshots, %v", n, err)
	}
	info, err := s.Stat(ctx, "child")
	if err != nil || info.Kind != snapshot.KindActive || info.Parent != "base" || info.Name != "child" {
		t.Fatalf("stat child: %+v %v", info, err)
	}
	for _, k := range []string{"child", "view", "base"} {
		if err := s.Remove(ctx, k); err != nil {
			t.Fatalf("remove %s: %v", k, err)
		}
	}
}

func testReopen(t *testing.T, newSn New) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := newSn(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(ctx, "a", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, "A", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, newSn, root)
	info, err := s.Stat(ctx, "A")
	if err != nil || info.Kind != snapshot.KindCommitted {
		t.Fatalf("after reopen: %+v %v", info, err)
	}
	if _, err := s.Prepare(ctx, "b", "A"); err != nil {
		t.Fatal(err)
	}
}

func mountAt(t *testing.T, ms []mount.Mount) string {
	t.Helper()
	dir := t.TempDir()
	if err := mount.All(ms, dir); err != nil {
		t.Fatalf("mount %+v: %v", ms, err)
	}
	t.Cleanup(func() {
		if err := mount.UnmountAll(dir); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func unmount(t *testing.T, dir string) {
	t.Helper()
	if err := mount.UnmountAll(dir); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case want == "" && !os.IsNotExist(err):
			t.Errorf("%s: want absent, got %q %v", name, got, err)
		case want != "" && string(got) != want:
			t.Errorf("%s: got %q %v, want %q", name, got, err, want)
		}
	}
}

func testLayers(t *testing.T, newSn New) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	s := open(t, newSn, t.TempDir())

	ms, err := s.Prepare(ctx, "l1", "")
	if err != nil {
		t.Fatal(err)
	}
	d := mountAt(t, ms)
	write(t, d, "a", "1")
	write(t, d, "dir/b", "1")
	write(t, d, "gone", "1")
	unmount(t, d)
	if err := s.Commit(ctx, "L1", "l1"); err != nil {
		t.Fatal(err)
	}

	ms, err = s.Prepare(ctx, "l2", "L1")
	if err != nil {
		t.Fatal(err)
	}
	d = mountAt(t, ms)
	expect(t, d, map[string]string{"a": "1", "dir/b": "1", "gone": "1"})
	write(t, d, "a", "2")
	write(t, d, "dir/c", "2")
	if err := os.Remove(filepath.Join(d, "gone")); err != nil {
		t.Fatal(err)
	}
	unmount(t, d)
	if err := s.Commit(ctx, "L2", "l2"); err != nil {
		t.Fatal(err)
	}

	// Three layers deep: the container's writable layer.
	ms, err = s.Prepare(ctx, "rw", "L2")
	if err != nil {
		t.Fatal(err)
	}
	d = mountAt(t, ms)
	expect(t, d, map[string]string{"a": "2", "dir/b": "1", "dir/c": "2", "gone": ""})
	write(t, d, "new", "3")
	unmount(t, d)

	for _, parent := range []string{"L1", "L2"} {
		ms, err = s.View(ctx, "view-"+parent, parent)
		if err != nil {
			t.Fatal(err)
		}
		d = mountAt(t, ms)
		if parent == "L1" {
			expect(t, d, map[string]string{"a": "1", "gone": "1", "dir/c": ""})
		} else {
			expect(t, d, map[string]string{"a": "2", "gone": "", "dir/c": "2", "new": ""})
		}
		if err := os.WriteFile(filepath.Join(d, "x"), nil, 0o644); err == nil {
			t.Errorf("view of %s is writable", parent)
		}
		unmount(t, d)
	}
	// The lower layers were not changed by the layers above.
	ms, err = s.View(ctx, "check", "L1")
	if err != nil {
		t.Fatal(err)
	}
	d = mountAt(t, ms)
	expect(t, d, map[string]string{"a": "1", "dir/b": "1", "gone": "1"})
	unmount(t, d)

	for _, k := range []string{"check", "view-L1", "view-L2", "rw", "L2", "L1"} {
		if err := s.Remove(ctx, k); err != nil {
			t.Fatalf("remove %s: %v", k, err)
		}
	}
}

package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-engine/berth/internal/errdefs"
)

func TestCreateValidates(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, vol, driver string
		opts              map[string]string
		class             error
	}{
		{"dotdot", "../../etc", "", nil, errdefs.ErrInvalidParameter},
		{"slash", "a/b", "", nil, errdefs.ErrInvalidParameter},
		{"one char", "a", "", nil, errdefs.ErrInvalidParameter},
		{"type without device", "good", "", map[string]string{"type": "tmpfs"}, errdefs.ErrInvalidParameter},
		{"o alone", "good", "", map[string]string{"o": "size=1m"}, errdefs.ErrInvalidParameter},
		{"leading dot", ".hidden", "", nil, errdefs.ErrInvalidParameter},
		{"bad option", "good", "", map[string]string{"foo": "bar"}, errdefs.ErrInvalidParameter},
		{"device without type", "good", "", map[string]string{"device": "/dev/x"}, errdefs.ErrInvalidParameter},
		{"other driver", "good", "nfs", nil, errdefs.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.Create(ctx, tc.vol, tc.driver, tc.opts, nil)
			if !errors.Is(err, tc.class) {
				t.Fatalf("got %v, want class %v", err, tc.class)
			}
		})
	}
	if ents, _ := os.ReadDir(s.Root()); len(ents) != 0 {
		t.Fatalf("bad creates left %d entries", len(ents))
	}
}

func TestLifecycle(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	v, created, err := s.Create(ctx, "data", "", map[string]string{}, map[string]string{"a": "b"})
	if err != nil || !created || v.Name != "data" || v.Labels["a"] != "b" || v.CreatedAt.IsZero() {
		t.Fatalf("create: %+v %v %v", v, created, err)
	}
	if _, created, err := s.Create(ctx, "data", "local", nil, nil); err != nil || created {
		t.Fatalf("second create: created=%v err=%v", created, err)
	}
	anon, _, err := s.Create(ctx, "", "", nil, map[string]string{AnonymousLabel: ""})
	if err != nil || len(anon.Name) != 64 || !anon.Anonymous() {
		t.Fatalf("anonymous: %+v %v", anon, err)
	}
	if err := os.WriteFile(filepath.Join(s.Path("data"), "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := s.Size("data"); n != 5 {
		t.Fatalf("size %d", n)
	}
	if _, created, err := s.CreateFor(ctx, "c1", "data", "", nil, nil); err != nil || created {
		t.Fatalf("CreateFor an existing volume: %v %v", created, err)
	}
	if got := s.Users("data"); len(got) != 1 || got[0] != "c1" {
		t.Fatalf("users %v", got)
	}
	if err := s.Acquire("nope", "c1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("acquire missing: %v", err)
	}
	err = s.Remove(ctx, "data", true)
	if !errors.Is(err, errdefs.ErrConflict) || err.Error() != "remove data: volume is in use - [c1]" {
		t.Fatalf("remove in use: %v", err)
	}

	// A new store on the same root (a restart) finds both volumes, and
	// the leftovers of an interrupted removal are cleaned.
	if err := os.MkdirAll(filepath.Join(root, removingPrefix+"old", "_data"), 0o755); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Get("data")
	if err != nil || got.Labels["a"] != "b" || !got.CreatedAt.Equal(v.CreatedAt) {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	if len(s2.List()) != 2 {
		t.Fatalf("list: %+v", s2.List())
	}
	if _, err := os.Stat(filepath.Join(root, removingPrefix+"old")); !os.IsNotExist(err) {
		t.Fatalf("leftover removal not cleaned: %v", err)
	}
	s.Release("data", "c1")
	if err := s.Remove(ctx, "data", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("data"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get removed: %v", err)
	}
	if err := s.Remove(ctx, "data", false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("remove missing: %v", err)
	}
	if err := s.Remove(ctx, "data", true); err != nil {
		t.Fatalf("forced remove of missing: %v", err)
	}
}

func TestMountCounts(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := s.Create(ctx, "plain", "", nil, nil); err != nil {
		t.Fatal(err)
	}
	p, err := s.Mount(ctx, "plain", "c1")
	if err != nil || p != s.Path("plain") {
		t.Fatalf("mount: %q %v", p, err)
	}
	if _, err := s.Mount(ctx, "plain", "c2"); err != nil {
		t.Fatal(err)
	}
	if n := s.Mounted("plain"); n != 2 {
		t.Fatalf("mounted %d", n)
	}
	_ = s.Unmount(ctx, "plain", "c1")
	_ = s.Unmount(ctx, "plain", "c1")
	if n := s.Mounted("plain"); n != 1 {
		t.Fatalf("mounted after unmount %d", n)
	}
}

// TestOpenAfterCrash: what a kill -9 can leave (a record write cut short,
// a directory made before its record, a removal half done) opens cleanly.
func TestOpenAfterCrash(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(context.Background(), "kept", "", nil, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		filepath.Join(root, "kept", ".meta.json.tmp-123"),
		filepath.Join(root, "norecord", "_data", "f"),
		filepath.Join(root, ".removing-gone", "_data", "f"),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s2.Get("kept"); err != nil || v.Labels["a"] != "b" {
		t.Fatalf("kept: %+v %v", v, err)
	}
	if v, err := s2.Get("norecord"); err != nil || v.Driver != DriverName || v.CreatedAt.IsZero() {
		t.Fatalf("directory without a record: %+v %v", v, err)
	}
	for _, p := range []string{filepath.Join(root, "kept", ".meta.json.tmp-123"), filepath.Join(root, ".removing-gone")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", p, err)
		}
	}
}

// TestConcurrentUse: creates, removes and references racing on one name
// never leave a referenced volume removed.
func TestConcurrentUse(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			_ = s.Remove(ctx, "shared", false)
		}
	}()
	for i := 0; i < 200; i++ {
		ref := fmt.Sprint("c", i)
		if _, _, err := s.CreateFor(ctx, ref, "shared", "", nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get("shared"); err != nil {
			t.Fatalf("referenced volume gone: %v", err)
		}
		if _, err := os.Stat(s.Path("shared")); err != nil {
			t.Fatalf("referenced volume's data gone: %v", err)
		}
		s.Release("shared", ref)
	}
	<-done
}

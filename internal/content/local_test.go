package content

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestWriteReadDelete(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	data := "hello blob"
	want := digest.FromString(data)
	info, err := s.Write(ctx, strings.NewReader(data), want)
	if err != nil {
		t.Fatal(err)
	}
	if info.Digest != want || info.Size != int64(len(data)) {
		t.Fatalf("info %+v", info)
	}
	if _, err := os.Stat(filepath.Join(root, "blobs", "sha256", want.Encoded())); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "oci-layout")); err != nil {
		t.Fatal(err)
	}
	// Writing it again is a no-op, without an expected digest too.
	if info2, err := s.Write(ctx, strings.NewReader(data), ""); err != nil || info2 != info {
		t.Fatalf("rewrite: %+v %v", info2, err)
	}
	got, err := ReadAll(ctx, s, want)
	if err != nil || string(got) != data {
		t.Fatalf("read %q %v", got, err)
	}
	n := 0
	if err := s.Walk(ctx, func(Info) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("walk %d %v", n, err)
	}
	if err := s.Delete(ctx, want); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Info(ctx, want); !errors.Is(err, ErrNotFound) {
		t.Fatalf("info after delete: %v", err)
	}
	if err := s.Delete(ctx, want); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	s, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		data     string
		expected digest.Digest
	}{
		{"mismatch", "abc", digest.FromString("abd")},
		{"malformed", "abc", "sha256:zz"},
		{"not sha256", "abc", digest.Digest("sha512:" + strings.Repeat("a", 128))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.Write(ctx, strings.NewReader(c.data), c.expected); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("got %v", err)
			}
		})
	}
	n := 0
	_ = s.Walk(ctx, func(Info) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d blobs stored after failed writes", n)
	}
	if _, err := s.Open(ctx, "../../etc/passwd"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("open hostile digest: %v", err)
	}
}

func TestInterruptedWriteCleanedOnOpen(t *testing.T) {
	root := t.TempDir()
	if _, err := NewLocal(root); err != nil {
		t.Fatal(err)
	}
	// A write cut off by a kill leaves a temp file in ingest.
	left := filepath.Join(root, "ingest", "blob-123")
	if err := os.WriteFile(left, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocal(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("leftover kept: %v", err)
	}
}

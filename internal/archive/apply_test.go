package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

type entry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func mkTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func apply(t *testing.T, dir string, data []byte) error {
	t.Helper()
	_, err := Apply(context.Background(), dir, bytes.NewReader(data), Options{})
	return err
}

func TestHostileTars(t *testing.T) {
	// Rejected cases must fail; confined ones (a symlinked parent, which
	// docker resolves inside the root too) must land inside the root, at
	// inside when set.
	cases := []struct {
		name     string
		entries  []entry
		confined bool
		inside   string
	}{
		{"dotdot", []entry{{name: "../escape", body: "x"}}, false, ""},
		{"dotdot inside", []entry{{name: "a/../../escape", body: "x"}}, false, ""},
		{"absolute", []entry{{name: "/escape", body: "x"}}, false, ""},
		{"symlinked parent absolute", []entry{{name: "l", link: "OUTSIDE", typ: tar.TypeSymlink}, {name: "l/escape", body: "x"}}, true, "OUTSIDE/escape"},
		{"symlinked parent relative", []entry{{name: "l", link: "../outside", typ: tar.TypeSymlink}, {name: "l/escape", body: "x"}}, true, "outside/escape"},
		{"symlinked parent dotdot chain", []entry{{name: "a/b/", typ: tar.TypeDir}, {name: "a/b/l", link: "../../../../../../outside", typ: tar.TypeSymlink}, {name: "a/b/l/escape", body: "x"}}, true, "outside/escape"},
		{"symlink replaces dir", []entry{{name: "d/", typ: tar.TypeDir}, {name: "d", link: "OUTSIDE", typ: tar.TypeSymlink}, {name: "d/escape", body: "x"}}, true, "OUTSIDE/escape"},
		{"var/run -> /run", []entry{{name: "var/run", link: "/run", typ: tar.TypeSymlink}, {name: "var/run/escape", body: "x"}}, true, "run/escape"},
		{"hardlink dotdot", []entry{{name: "h", link: "../outside/secret", typ: tar.TypeLink}}, false, ""},
		{"hardlink absolute", []entry{{name: "h", link: "/etc/passwd", typ: tar.TypeLink}}, false, ""},
		{"hardlink through symlink", []entry{{name: "l", link: "OUTSIDE", typ: tar.TypeSymlink}, {name: "h", link: "l/secret", typ: tar.TypeLink}}, false, ""},
		{"char device", []entry{{name: "null", typ: tar.TypeChar}}, false, ""},
		{"block device", []entry{{name: "sda", typ: tar.TypeBlock}}, false, ""},
		{"whiteout of parent", []entry{{name: "a/.wh...", body: ""}}, false, ""},
		{"whiteout of dot", []entry{{name: "a/.wh..", body: ""}}, false, ""},
		{"whiteout empty", []entry{{name: ".wh.", body: ""}}, false, ""},
		{"whiteout through symlink", []entry{{name: "l", link: "OUTSIDE", typ: tar.TypeSymlink}, {name: "l/.wh.secret"}}, true, ""},
		{"opaque through symlink", []entry{{name: "l", link: "OUTSIDE", typ: tar.TypeSymlink}, {name: "l/.wh..wh..opq"}}, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			top := t.TempDir()
			outside := filepath.Join(top, "outside")
			root := filepath.Join(top, "root")
			for _, d := range []string{outside, root} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "keep"), []byte("k"), 0o600); err != nil {
				t.Fatal(err)
			}
			for i := range c.entries {
				if c.entries[i].link == "OUTSIDE" {
					c.entries[i].link = outside
				}
			}
			err := apply(t, root, mkTar(t, c.entries...))
			switch {
			case !c.confined && err == nil:
				t.Fatal("hostile tar applied without error")
			case c.confined && err != nil:
				t.Fatalf("confined tar failed: %v", err)
			case c.inside != "":
				p := filepath.Join(root, strings.ReplaceAll(c.inside, "OUTSIDE", outside))
				if b, err := os.ReadFile(p); err != nil || string(b) != "x" {
					t.Fatalf("entry not confined to %s: %q %v", p, b, err)
				}
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 || ents[0].Name() != "secret" {
				t.Fatalf("outside touched: %v", ents)
			}
			if _, err := os.Stat(filepath.Join(top, "escape")); err == nil {
				t.Fatal("file written beside the root")
			}
			if _, err := os.Stat(filepath.Join(root, "keep")); err != nil {
				t.Fatalf("root content lost: %v", err)
			}
		})
	}
}

func TestUnsafeClass(t *testing.T) {
	err := apply(t, t.TempDir(), mkTar(t, entry{name: "../x", body: "x"}))
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("got %v", err)
	}
	err = apply(t, t.TempDir(), mkTar(t, entry{name: "null", typ: tar.TypeChar}))
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("got %v", err)
	}
}

func TestWhiteouts(t *testing.T) {
	dir := t.TempDir()
	base := mkTar(t,
		entry{name: "a/", typ: tar.TypeDir},
		entry{name: "a/one", body: "1"},
		entry{name: "a/two", body: "2"},
		entry{name: "b/", typ: tar.TypeDir},
		entry{name: "b/lower", body: "l"},
		entry{name: "c", body: "c"},
		entry{name: "./d/x", body: "x"},
	)
	if err := apply(t, dir, base); err != nil {
		t.Fatal(err)
	}
	upper := mkTar(t,
		entry{name: "a/.wh.one"},
		entry{name: "b/new", body: "n"},
		entry{name: "b/.wh..wh..opq"},
		entry{name: ".wh.c"},
		entry{name: "d", body: "now a file"},
	)
	if err := apply(t, dir, upper); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"a/one": false, "a/two": true, "b/lower": false, "b/new": true, "c": false, "a/.wh.one": false, "b/.wh..wh..opq": false}
	for p, exists := range want {
		_, err := os.Lstat(filepath.Join(dir, p))
		if (err == nil) != exists {
			t.Errorf("%s: exists=%v, want %v", p, err == nil, exists)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d")); string(b) != "now a file" {
		t.Errorf("d = %q", b)
	}
}

func TestCompressionAndMetadata(t *testing.T) {
	plain := mkTar(t,
		entry{name: "bin/", typ: tar.TypeDir},
		entry{name: "bin/tool", body: "#!/bin/sh\n", mode: 0o4755},
		entry{name: "bin/alias", link: "tool", typ: tar.TypeSymlink},
		entry{name: "bin/hard", link: "bin/tool", typ: tar.TypeLink},
		entry{name: "pipe", typ: tar.TypeFifo},
	)
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	for name, data := range map[string][]byte{"none": plain, "gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			n, err := Apply(context.Background(), dir, bytes.NewReader(data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			// docker's layer size: its files' bytes once per inode and
			// its symlinks' targets ("#!/bin/sh\n" and "tool").
			if n != 14 || n != treeSize(t, dir) {
				t.Errorf("size %d, want 14 (the tree holds %d)", n, treeSize(t, dir))
			}
			st, err := os.Stat(filepath.Join(dir, "bin/tool"))
			if err != nil || st.Mode()&os.ModeSetuid == 0 || st.Mode().Perm() != 0o755 {
				t.Errorf("tool mode %v %v", st.Mode(), err)
			}
			if l, _ := os.Readlink(filepath.Join(dir, "bin/alias")); l != "tool" {
				t.Errorf("alias -> %q", l)
			}
			st2, _ := os.Stat(filepath.Join(dir, "bin/hard"))
			if !os.SameFile(st, st2) {
				t.Error("hard link is not the same file")
			}
			if st, err := os.Lstat(filepath.Join(dir, "pipe")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
				t.Errorf("pipe %v %v", st, err)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		head []byte
		want Compression
	}{
		{"gzip", []byte{0x1f, 0x8b, 0x08, 0}, Gzip},
		{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}, Zstd},
		{"tar", []byte("bin/"), Uncompressed},
		{"empty", nil, Uncompressed},
	}
	for _, c := range cases {
		if got := Detect(c.head); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestGarbage(t *testing.T) {
	for name, data := range map[string][]byte{
		"bad gzip":    {0x1f, 0x8b, 0x08, 0, 1, 2, 3},
		"not a tar":   bytes.Repeat([]byte("x"), 1024),
		"cut off tar": mkTar(t, entry{name: "f", body: "hello world"})[:515],
	} {
		t.Run(name, func(t *testing.T) {
			if err := apply(t, t.TempDir(), data); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// treeSize sums what docker's directory size counts under dir: the size of
// every entry but directories, each inode once.
func treeSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	seen := map[uint64]bool{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		n += fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

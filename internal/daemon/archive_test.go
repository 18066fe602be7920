package daemon

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/errdefs"
)

// cpRoot is a container root with hostile symlinks: /escape -> /,
// /x -> ../../.., /d/up -> .., /etc/passwd a file.
func cpRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"etc", "d/sub"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("container\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"escape": "/", "x": "../../..", "d/up": "..", "d/etc": "/etc"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveContainerPath(t *testing.T) {
	root := cpRoot(t)
	for _, tc := range []struct {
		name, path, want, abs string
	}{
		{"plain", "/etc/passwd", "etc/passwd", "/etc/passwd"},
		{"relative counts from /", "etc", "etc", "/etc"},
		{"absolute symlink parent", "/escape/etc/passwd", "etc/passwd", "/escape/etc/passwd"},
		{"dotdot symlink parent", "/x/etc/passwd", "etc/passwd", "/x/etc/passwd"},
		{"dotdot in the path", "/../../../etc/passwd", "etc/passwd", "/etc/passwd"},
		{"last symlink kept", "/escape", "escape", "/escape"},
		{"trailing slash follows", "/escape/", ".", "/escape/"},
		{"trailing dot follows", "/x/.", ".", "/x/."},
		{"nested dotdot link", "/d/up/d/up/d/up/etc", "etc", "/d/up/d/up/d/up/etc"},
		{"link to a directory, followed", "/d/etc/", "etc", "/d/etc/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp, err := resolveContainerPath(root, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			rel, err := filepath.Rel(root, rp.resolved)
			if err != nil || rel != tc.want {
				t.Errorf("resolved to %s (%q), want %q", rp.resolved, rel, tc.want)
			}
			if rp.abs != tc.abs {
				t.Errorf("abs %q, want %q", rp.abs, tc.abs)
			}
		})
	}
	if _, err := resolveContainerPath(root, ""); !errors.Is(err, errdefs.ErrInvalidParameter) {
		t.Errorf("empty path: %v", err)
	}
}

func TestStatContainerPath(t *testing.T) {
	root := cpRoot(t)
	notFound := notFoundIn("/nope", "c")
	for path, want := range map[string]string{"/escape": "/", "/x": "/", "/d/up": "/", "/d/etc": "/etc"} {
		rp, err := resolveContainerPath(root, path)
		if err != nil {
			t.Fatal(err)
		}
		st, err := statContainerPath(root, rp, notFound)
		if err != nil {
			t.Fatal(err)
		}
		if st.LinkTarget != want || st.Mode&os.ModeSymlink == 0 {
			t.Errorf("%s: link target %q mode %v, want %q", path, st.LinkTarget, st.Mode, want)
		}
	}
	for _, path := range []string{"/etc/passwd/x", "/etc/passwd/", "/escape/etc/passwd/."} {
		rp, err := resolveContainerPath(root, path)
		if err != nil {
			t.Fatal(err)
		}
		// dockerd 20.10's 500 for a path through a file.
		if _, err := statContainerPath(root, rp, notFound); !errors.Is(err, errdefs.ErrSystem) {
			t.Errorf("%s: %v, want a system error", path, err)
		}
	}
	for _, path := range []string{"/nope", "/escape/nope"} {
		rp, err := resolveContainerPath(root, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := statContainerPath(root, rp, notFound); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("%s: %v, want not found", path, err)
		}
	}
}

type tarEntry struct {
	name     string
	typ      byte
	linkname string
}

func tarOf(t *testing.T, entries ...tarEntry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.linkname, Mode: 0o644, Uid: 1234, Gid: 1234}
		var body []byte
		if e.typ == tar.TypeReg {
			body = []byte("evil\n")
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestExtractIntoRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tarEntry
	}{
		{"dotdot", []tarEntry{{name: "../../f", typ: tar.TypeReg}}},
		{"dotdot inside", []tarEntry{{name: "a/../../f", typ: tar.TypeReg}}},
		{"absolute", []tarEntry{{name: "/f", typ: tar.TypeReg}}},
		{"hardlink dotdot", []tarEntry{{name: "h", typ: tar.TypeLink, linkname: "../../etc/passwd"}}},
		{"hardlink absolute", []tarEntry{{name: "h", typ: tar.TypeLink, linkname: "/etc/passwd"}}},
		{"whiteout", []tarEntry{{name: ".wh.sub", typ: tar.TypeReg}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outside := t.TempDir()
			root := filepath.Join(outside, "root")
			os.Mkdir(root, 0o755)
			os.MkdirAll(filepath.Join(root, "d/sub"), 0o755)
			err := extractInto(context.Background(), root, "d", extractOptions{}, tarOf(t, tc.entries...))
			if !errors.Is(err, errdefs.ErrInvalidParameter) {
				t.Errorf("got %v, want an invalid parameter", err)
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 {
				t.Errorf("written outside the root: %v", ents)
			}
			if _, err := os.Stat(filepath.Join(root, "d/sub")); err != nil {
				t.Errorf("d/sub: %v", err)
			}
		})
	}
}

func TestExtractIntoSymlinkedParentsStayInRoot(t *testing.T) {
	outside := t.TempDir()
	root := filepath.Join(outside, "root")
	os.MkdirAll(filepath.Join(root, "d"), 0o755)
	os.MkdirAll(filepath.Join(root, outside), 0o755)
	// The container's own escape links, and a tar that brings its own.
	os.Symlink("/", filepath.Join(root, "escape"))
	os.Symlink("../../../..", filepath.Join(root, "d/x"))
	err := extractInto(context.Background(), root, "d", extractOptions{}, tarOf(t,
		tarEntry{name: "x" + outside + "/a", typ: tar.TypeReg},
		tarEntry{name: "l", typ: tar.TypeSymlink, linkname: outside},
		tarEntry{name: "l/b", typ: tar.TypeReg},
		tarEntry{name: "up", typ: tar.TypeSymlink, linkname: "../../../../../.."},
		tarEntry{name: "up" + outside + "/c", typ: tar.TypeReg},
		tarEntry{name: "hl", typ: tar.TypeLink, linkname: "l/b"},
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := os.Stat(filepath.Join(root, outside, n)); err != nil {
			t.Errorf("%s not in the container's %s: %v", n, outside, err)
		}
		if _, err := os.Lstat(filepath.Join(outside, n)); err == nil {
			t.Errorf("%s written on the host", n)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "d/hl")); err != nil || string(b) != "evil\n" {
		t.Errorf("hard link inside the target: %q %v", b, err)
	}
}

func TestExtractIntoNoOverwriteDirNonDir(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "d/sub"), 0o755)
	os.WriteFile(filepath.Join(root, "d/f"), nil, 0o644)
	opts := extractOptions{noOverwriteDirNonDir: true}
	if err := extractInto(context.Background(), root, "d", opts, tarOf(t, tarEntry{name: "sub", typ: tar.TypeReg})); !errors.Is(err, errdefs.ErrInvalidParameter) {
		t.Errorf("file over a directory: %v", err)
	}
	if err := extractInto(context.Background(), root, "d", opts, tarOf(t, tarEntry{name: "f", typ: tar.TypeDir})); !errors.Is(err, errdefs.ErrInvalidParameter) {
		t.Errorf("directory over a file: %v", err)
	}
	if err := extractInto(context.Background(), root, "d", opts, tarOf(t, tarEntry{name: "g", typ: tar.TypeReg})); err != nil {
		t.Errorf("a new file: %v", err)
	}
}

func tarNames(t *testing.T, r *os.Root, rel, name string) ([]string, error) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tarTree(context.Background(), r, rel, name, tw); err != nil {
		return nil, err
	}
	tw.Close()
	var got []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		got = append(got, h.Name+">"+h.Linkname)
	}
	return got, nil
}

func TestTarTree(t *testing.T) {
	root := cpRoot(t)
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct{ rel, name, want string }{
		{"d", "d", "d/> d/etc>/etc d/sub/> d/up>.."},
		{"d", "./", "./> ./etc>/etc ./sub/> ./up>.."},
		{"escape", "escape", "escape>/"},
		{"etc/passwd", "passwd", "passwd>"},
	} {
		got, err := tarNames(t, r, tc.rel, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s as %s: %q, want %q", tc.rel, tc.name, strings.Join(got, " "), tc.want)
		}
	}
	// A path through a symlink leaving the root (what a container could
	// swap in after resolution) fails instead of reading the host.
	for _, rel := range []string{"escape/etc", "x/etc", "d/etc/passwd"} {
		if got, err := tarNames(t, r, rel, "n"); err == nil {
			t.Errorf("%s: tarred %v through a symlink", rel, got)
		}
	}
}

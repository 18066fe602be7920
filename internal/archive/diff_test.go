package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteOverlayDiff(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("whiteout devices and trusted xattrs need root")
	}
	upper := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(upper, "a"), []byte("hello"), 0o640))
	must(os.Link(filepath.Join(upper, "a"), filepath.Join(upper, "b")))
	must(os.Symlink("a", filepath.Join(upper, "s")))
	must(unix.Mknod(filepath.Join(upper, "gone"), unix.S_IFCHR, 0))
	must(os.Mkdir(filepath.Join(upper, "op"), 0o755))
	must(unix.Setxattr(filepath.Join(upper, "op"), "trusted.overlay.opaque", []byte("y"), 0))
	must(os.WriteFile(filepath.Join(upper, "op", "new"), []byte("n"), 0o644))

	var buf bytes.Buffer
	must(WriteOverlayDiff(context.Background(), &buf, upper))
	var names []string
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		d := hdr.Name
		switch hdr.Typeflag {
		case tar.TypeLink:
			d += "=>" + hdr.Linkname
		case tar.TypeSymlink:
			d += "->" + hdr.Linkname
		}
		names = append(names, d)
	}
	want := "a b=>a .wh.gone op/ op/.wh..wh..opq op/new s->a"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("entries %q, want %q", got, want)
	}

	// Applied over a lower layer, it deletes and hides what it should.
	lower := t.TempDir()
	must(os.WriteFile(filepath.Join(lower, "gone"), []byte("x"), 0o644))
	must(os.Mkdir(filepath.Join(lower, "op"), 0o755))
	must(os.WriteFile(filepath.Join(lower, "op", "old"), []byte("o"), 0o644))
	if _, err := Apply(context.Background(), lower, bytes.NewReader(buf.Bytes()), Options{}); err != nil {
		t.Fatal(err)
	}
	for p, exists := range map[string]bool{"gone": false, "op/old": false, "op/new": true, "a": true, "b": true} {
		if _, err := os.Lstat(filepath.Join(lower, p)); (err == nil) != exists {
			t.Errorf("%s: exists %v, want %v", p, err == nil, exists)
		}
	}
}

package daemon

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
)

func TestDropInitChanges(t *testing.T) {
	in := []ctypes.FilesystemChange{{Path: "/etc", Kind: ctypes.ChangeModify}, {Path: "/etc/hosts", Kind: ctypes.ChangeAdd}, {Path: "/etc/resolv.conf", Kind: ctypes.ChangeAdd}, {Path: "/tmp", Kind: ctypes.ChangeModify}}
	if out := dropInitChanges(in); len(out) != 1 || out[0].Path != "/tmp" {
		t.Fatalf("got %v", out)
	}
	in = append(in, ctypes.FilesystemChange{Path: "/etc/app.conf", Kind: ctypes.ChangeAdd})
	if out := dropInitChanges(in); len(out) != 3 || out[0].Path != "/etc" {
		t.Fatalf("got %v", out)
	}
}

func TestDropInitFiles(t *testing.T) {
	var src bytes.Buffer
	tw := tar.NewWriter(&src)
	for _, f := range []struct {
		name string
		data string
	}{{"etc/", ""}, {"etc/hosts", ""}, {"./etc/hostname", ""}, {"etc/resolv.conf", "nameserver 1.1.1.1\n"}, {"newfile", "x"}} {
		h := &tar.Header{Name: f.name, Typeflag: tar.TypeReg, Size: int64(len(f.data)), Mode: 0o644}
		if f.name == "etc/" {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		tw.WriteHeader(h)
		tw.Write([]byte(f.data))
	}
	tw.Close()
	var out bytes.Buffer
	if err := dropInitFiles(&src, &out); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&out)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if want := "[etc/ etc/resolv.conf newfile]"; fmtNames(names) != want {
		t.Fatalf("kept %v, want %s", names, want)
	}
}

func fmtNames(n []string) string {
	s := "["
	for i, x := range n {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s + "]"
}

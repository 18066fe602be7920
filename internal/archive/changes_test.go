package archive

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOverlayChanges(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("whiteouts (0/0 devices) and trusted xattrs need root")
	}
	lower, upper := t.TempDir(), t.TempDir()
	mk := func(root, rel string, dir bool) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if dir {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte(rel), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The image: /etc/passwd, /bin/sh, /var/lib/x, /opt/old/file, /same/f.
	for _, f := range []string{"etc/passwd", "bin/sh", "var/lib/x", "opt/old/file", "same/f"} {
		mk(lower, f, false)
	}
	// The container: modified /etc/passwd, added /etc/new, deleted /bin/sh,
	// added /tmp/a/b, /opt/old made opaque with a new file, /var/lib
	// copied up unchanged because /var/lib/y was added.
	mk(upper, "etc/passwd", false)
	mk(upper, "etc/new", false)
	mk(upper, "bin", true)
	if err := unix.Mknod(filepath.Join(upper, "bin/sh"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	mk(upper, "tmp/a/b", false)
	mk(upper, "opt/old/newfile", false)
	if err := unix.Setxattr(filepath.Join(upper, "opt/old"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("trusted xattrs not supported here: %v", err)
	}
	mk(upper, "var/lib/y", false)
	// Directories that exist below get the lower's attributes, as a
	// copy-up gives them; /etc and /bin keep their new mtime.
	same := time.Unix(1_600_000_000, 0)
	for _, d := range []string{"var", "var/lib", "opt"} {
		for _, root := range []string{lower, upper} {
			os.Chmod(filepath.Join(root, d), 0o755)
			os.Chtimes(filepath.Join(root, d), same, same)
		}
	}
	os.Chtimes(filepath.Join(lower, "etc"), same, same)
	os.Chtimes(filepath.Join(lower, "bin"), same, same)

	got, err := OverlayChanges(upper, []string{lower})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{"/bin", ChangeModify},
		{"/bin/sh", ChangeDelete},
		{"/etc", ChangeModify},
		{"/etc/new", ChangeAdd},
		{"/etc/passwd", ChangeModify},
		{"/opt/old", ChangeModify},
		{"/opt/old/newfile", ChangeAdd},
		{"/tmp", ChangeAdd},
		{"/tmp/a", ChangeAdd},
		{"/tmp/a/b", ChangeAdd},
		{"/var/lib", ChangeModify},
		{"/var/lib/y", ChangeAdd},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got %v\nwant %v", got, want)
	}
}

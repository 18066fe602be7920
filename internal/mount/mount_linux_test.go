package mount

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
)

func TestBindReadOnly(t *testing.T) {
	testutil.RequiresRoot(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var seen string
	err := WithTempMount(context.Background(), []Mount{{Type: "bind", Source: src, Options: []string{"rbind", "ro"}}}, func(root string) error {
		seen = root
		if b, err := os.ReadFile(filepath.Join(root, "f")); err != nil || string(b) != "x" {
			t.Errorf("read through bind: %q %v", b, err)
		}
		if err := os.WriteFile(filepath.Join(root, "g"), nil, 0o644); err == nil {
			t.Error("read-only bind is writable")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(seen); !os.IsNotExist(err) {
		t.Fatalf("mount point left behind: %v", err)
	}
}

func TestMountFailureCleansUp(t *testing.T) {
	testutil.RequiresRoot(t)
	called := false
	err := WithTempMount(context.Background(), []Mount{{Type: "bind", Source: "/nonexistent/berth", Options: []string{"rbind"}}}, func(string) error {
		called = true
		return nil
	})
	if err == nil || called {
		t.Fatalf("err %v, called %v", err, called)
	}
}

func TestParseOptions(t *testing.T) {
	flags, data := parse([]string{"ro", "nosuid", "lowerdir=/a:/b", "upperdir=/u"})
	if flags&(1|2) != 1|2 { // MS_RDONLY|MS_NOSUID
		t.Errorf("flags %#x", flags)
	}
	if data != "lowerdir=/a:/b,upperdir=/u" {
		t.Errorf("data %q", data)
	}
}

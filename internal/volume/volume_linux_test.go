package volume

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
)

// A volume made from options is mounted by its first user and unmounted
// after its last.
func TestTmpfsVolume(t *testing.T) {
	testutil.RequiresRoot(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := s.Create(ctx, "tmp", "", map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0750"}, nil); err != nil {
		t.Fatal(err)
	}
	p, err := s.Mount(ctx, "tmp", "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unmount(ctx, "tmp", "c1")
	if _, err := s.Mount(ctx, "tmp", "c2"); err != nil {
		t.Fatal(err)
	}
	if !mountedAt(t, p) {
		t.Fatal("not mounted")
	}
	_ = s.Unmount(ctx, "tmp", "c2")
	if !mountedAt(t, p) {
		t.Fatal("unmounted while c1 still uses it")
	}
	if err := s.Unmount(ctx, "tmp", "c1"); err != nil {
		t.Fatal(err)
	}
	if mountedAt(t, p) {
		t.Fatal("still mounted after the last user")
	}
}

func mountedAt(t *testing.T, p string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == p {
			return true
		}
	}
	return false
}

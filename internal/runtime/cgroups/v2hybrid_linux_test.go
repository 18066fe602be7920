package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// On a hybrid host the unified mount is a real cgroup2 filesystem with no
// controllers to speak of, but the pieces of v2 that need no controller work
// there: the eBPF device filter, cgroup.freeze, cgroup.procs. This runs the
// fs2 path against them for real.
func TestV2HybridDevicesFreezer(t *testing.T) {
	testutil.RequiresRoot(t)
	if IsV2() || !cgroups.IsCgroup2HybridMode() {
		t.Skip("needs a hybrid host (v1 plus cgroup2 on /sys/fs/cgroup/unified)")
	}
	dir := filepath.Join("/sys/fs/cgroup/unified", sandboxPath(t))
	m, err := newHybridV2("c1", &specs.Spec{Linux: &specs.Linux{
		Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
	}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	cleanupCgroup(t, m)

	c := startChild(t)
	if err := m.Apply(c.pid()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if pids, err := m.Pids(); err != nil || !slices.Equal(pids, []int{c.pid()}) {
		t.Fatalf("Pids() = %v, %v; want [%d]", pids, err, c.pid())
	}
	got := c.release(t)
	if want := []string{"null-ok", "kmsg-denied"}; !slices.Equal(got, want) {
		t.Errorf("device access inside the cgroup = %q, want %q", got, want)
	}

	if err := m.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze")); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("cgroup.freeze = %q after Freeze", b)
	}
	if s, err := m.FreezerState(); err != nil || s != "paused" {
		t.Errorf("FreezerState() = %q, %v; want paused", s, err)
	}
	if err := m.Thaw(); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	if s, err := m.FreezerState(); err != nil || s != "running" {
		t.Errorf("FreezerState() = %q, %v; want running", s, err)
	}

	c.kill()
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Destroy (err %v)", dir, err)
	}
}

package cgroups

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Manager builds and Creates a v1 manager for cgroupsPath path (a
// sandboxPath), skipping unless root on a v1 host with the given
// hierarchies.
func v1Manager(t *testing.T, path string, r *specs.LinuxResources, need ...string) *Manager {
	t.Helper()
	testutil.RequiresRoot(t)
	if IsV2() {
		t.Skip("host is cgroup v2 only")
	}
	m, err := New("c1", &specs.Spec{Linux: &specs.Linux{CgroupsPath: path, Resources: r}}, Options{})
	if err != nil {
		if errors.Is(err, ErrHostUnsupported) {
			t.Skipf("host: %v", err)
		}
		t.Fatal(err)
	}
	for _, sub := range need {
		if _, ok := m.Paths()[sub]; !ok {
			t.Skipf("no v1 %s hierarchy", sub)
		}
	}
	cleanupCgroup(t, m)
	if err := m.Create(); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return m
}

// devices.list lists the spec's rules in the spec's order, then runc's
// defaults ("The runtime MUST apply entries in the listed order"; the
// validation suite's linux_cgroups_devices checks exactly this), and the
// access is what the library computes: a deny after an allow narrows it.
func TestV1DeviceRuleOrder(t *testing.T) {
	m := v1Manager(t, sandboxPath(t), &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: ptr[int64](10), Minor: ptr[int64](229), Access: "rwm"},
		{Allow: true, Type: "b", Major: ptr[int64](8), Minor: ptr[int64](20), Access: "rw"},
		{Allow: true, Type: "b", Major: ptr[int64](10), Minor: ptr[int64](200), Access: "r"},
		{Allow: true, Type: "c", Major: ptr[int64](1), Minor: ptr[int64](11), Access: "rwm"},
		{Allow: false, Type: "c", Major: ptr[int64](1), Minor: ptr[int64](11), Access: "w"},
	}}, "devices")
	got := strings.Split(readTrim(t, m.Paths()["devices"], "devices.list"), "\n")
	want := []string{
		"c 10:229 rwm", "b 8:20 rw", "b 10:200 r", "c 1:11 rm",
		"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm",
		"c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
	}
	if !slices.Equal(got, want) {
		t.Errorf("devices.list =\n%q\nwant\n%q", got, want)
	}
}

// A cgroup that already exists (a second container given the same
// cgroupsPath) keeps the library's least disruptive transition, with no
// deny-all while its processes may be running: the access is right, in the
// library's order.
func TestV1DeviceRulesExistingCgroup(t *testing.T) {
	path := sandboxPath(t)
	first := v1Manager(t, path, nil, "devices")
	dir := first.Paths()["devices"]
	m, err := New("c2", &specs.Spec{Linux: &specs.Linux{CgroupsPath: path, Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: ptr[int64](10), Minor: ptr[int64](229), Access: "rwm"},
	}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got := strings.Split(readTrim(t, dir, "devices.list"), "\n")
	// The new rule is appended after the rules the first Create wrote.
	want := []string{
		"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm",
		"c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm", "c 10:229 rwm",
	}
	if !slices.Equal(got, want) {
		t.Errorf("devices.list =\n%q\nwant\n%q", got, want)
	}
}

// spec memory.kernelTCP reaches memory.kmem.tcp.limit_in_bytes on v1, at
// Create and through Update of a Loaded manager; memory.kernel does not
// (the kernel ignores writes to it since 6.1).
func TestV1KernelTCP(t *testing.T) {
	const limit = 50593792
	m := v1Manager(t, sandboxPath(t), &specs.LinuxResources{Memory: &specs.LinuxMemory{
		Limit: ptr[int64](limit), Kernel: ptr[int64](limit), KernelTCP: ptr[int64](limit),
	}}, "memory")
	dir := m.Paths()["memory"]
	if _, err := os.Stat(filepath.Join(dir, kmemTCPLimit)); err != nil {
		t.Skipf("kernel without %s", kmemTCPLimit)
	}
	if got := readTrim(t, dir, kmemTCPLimit); got != "50593792" {
		t.Errorf("%s = %q after Create", kmemTCPLimit, got)
	}

	raw, err := json.Marshal(m.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st.KernelTCP != limit {
		t.Errorf("State.KernelTCP = %d", st.KernelTCP)
	}
	m2, err := Load(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: ptr[int64](64 << 20)}}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := readTrim(t, dir, kmemTCPLimit); got != "67108864" {
		t.Errorf("%s = %q after Update", kmemTCPLimit, got)
	}
	// An update that does not name kernelTCP leaves it alone.
	if err := m2.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](limit * 2)}}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := m2.State().KernelTCP; got != 64<<20 {
		t.Errorf("State.KernelTCP = %d after an update without it", got)
	}
	if got := readTrim(t, dir, kmemTCPLimit); got != "67108864" {
		t.Errorf("%s = %q after an update without it", kmemTCPLimit, got)
	}
}

// CreateDirs makes one directory per hierarchy, seeding an empty cpuset
// from its parent, whether the parent exists (mkdirsV1 alone) or not (the
// driver walks and makes the ancestors, and the cpuset parent it made gets
// clone_children); either way the new cpusets can take a task, and the
// directories made are the ones recorded.
func TestV1CreateDirsFastAndFallback(t *testing.T) {
	base := sandboxPath(t)
	var leaves []string
	t.Cleanup(func() {
		// After the managers' own cleanup: the ancestors this test made,
		// up to the sandbox's shared top (removed once empty).
		for _, leaf := range leaves {
			for p := filepath.Dir(leaf); filepath.Base(p) != "berth-test"; p = filepath.Dir(p) {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Errorf("cleanup: %v", err)
				}
			}
			if i := strings.Index(leaf, "/berth-test/"); i >= 0 {
				_ = os.Remove(leaf[:i+len("/berth-test")]) // fails, harmlessly, unless empty
			}
		}
	})
	for _, path := range []string{base + "/new/parent/c1", base + "/new/parent/c2"} {
		m := v1Manager(t, path, nil, "cpuset")
		for sub, p := range m.Paths() {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s: %s not made: %v", path, sub, err)
			}
			leaves = append(leaves, p)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if readTrim(t, m.Paths()["cpuset"], f) == "" {
				t.Fatalf("%s: %s left empty", path, f)
			}
		}
		if len(m.created) != len(m.Paths()) {
			t.Fatalf("%s: recorded as made %v, want every one of %v", path, m.created, m.Paths())
		}
		// The cpuset parent the first create made is ours: the kernel
		// seeds its later children.
		if got := readTrim(t, filepath.Dir(m.Paths()["cpuset"]), "cgroup.clone_children"); got != "1" {
			t.Fatalf("%s: parent clone_children %q, want 1", path, got)
		}
	}
}

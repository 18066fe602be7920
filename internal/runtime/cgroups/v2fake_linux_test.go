package cgroups

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeV2Tree lays out a cgroup v2 root with a pre-existing "berth" parent,
// as plain files, and returns the directory the container will get. The
// files the kernel would provide for a new cgroup are created by the fake
// create step the test installs (see newFakeV2).
func fakeV2Tree(t *testing.T) (root, dir string) {
	t.Helper()
	root = t.TempDir()
	write(t, root, "cgroup.controllers", "cpu io memory pids cpuset hugetlb\n")
	write(t, root, "cgroup.subtree_control", "")
	write(t, root, "cgroup.procs", "1\n")
	return root, filepath.Join(root, "berth", "c1")
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(b)
}

// kernelFiles stands in for what the kernel puts in a fresh cgroup directory
// and that the library reads (not writes) back.
func kernelFiles(t *testing.T, dir string) {
	write(t, dir, "cgroup.controllers", "cpu io memory pids cpuset hugetlb\n")
	write(t, dir, "cgroup.procs", "")
	write(t, dir, "cgroup.freeze", "0\n")
	write(t, dir, "cgroup.events", "populated 1\nfrozen 1\n")
}

func TestV2FakeApply(t *testing.T) {
	_, dir := fakeV2Tree(t)
	spec := &specs.Spec{Linux: &specs.Linux{
		CgroupsPath: "/berth/c1",
		Resources: &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: ptr[int64](64 << 20), Swap: ptr[int64](96 << 20), Reservation: ptr[int64](32 << 20)},
			CPU: &specs.LinuxCPU{
				Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000),
				Cpus: "0-1", Mems: "0", Idle: ptr[int64](0),
			},
			Pids:           &specs.LinuxPids{Limit: ptr[int64](32)},
			BlockIO:        &specs.LinuxBlockIO{Weight: ptr[uint16](500), ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 1048576}}},
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
			Unified:        map[string]string{"memory.high": "50331648"},
		},
	}}
	m, err := newFakeV2(t, "c1", spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Paths(); !reflect.DeepEqual(got, map[string]string{"": dir}) {
		t.Errorf("Paths() = %v, want {\"\": %s}", got, dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("New created %s (stat err %v); nothing may touch disk before Apply", dir, err)
	}

	create := m.createV2
	m.createV2 = func(d string, c *cgroups.Cgroup) error {
		if err := create(d, c); err != nil {
			return err
		}
		kernelFiles(t, d)
		return nil
	}
	if err := m.Apply(4242); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	want := map[string]string{
		"memory.max":           "67108864",
		"memory.swap.max":      "33554432", // v2 swap excludes memory: 96M - 64M
		"memory.low":           "33554432",
		"memory.high":          "50331648", // from unified
		"cpu.weight":           "59",       // shares 512 converted
		"cpu.max":              "50000 100000",
		"cpu.idle":             "0",
		"cpuset.cpus":          "0-1",
		"cpuset.mems":          "0",
		"pids.max":             "32",
		"io.weight":            "4950", // blkio weight 500 mapped onto 1-10000
		"io.max":               "8:16 rbps=1048576",
		"hugetlb.2MB.max":      "4194304",
		"cgroup.procs":         "4242",
		"hugetlb.2MB.rsvd.max": "4194304",
	}
	for file, val := range want {
		if got := read(t, dir, file); got != val {
			t.Errorf("%s = %q, want %q", file, got, val)
		}
	}

	// Update merges: the new memory limit is written, and the stored pids
	// limit is written again along with it.
	write(t, dir, "pids.max", "stale")
	if err := m.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](80 << 20)}}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := read(t, dir, "memory.max"); got != "83886080" {
		t.Errorf("after update memory.max = %q", got)
	}
	if got := read(t, dir, "pids.max"); got != "32" {
		t.Errorf("after update pids.max = %q, want the stored 32", got)
	}
	if got := read(t, dir, "memory.swap.max"); got != "16777216" {
		t.Errorf("after update memory.swap.max = %q, want 96M-80M", got)
	}
	if r := m.State().Config.Resources; r.Memory != 80<<20 || *r.PidsLimit != 32 || r.CpuWeight != 59 {
		t.Errorf("stored config after update: memory %d pids %d weight %d", r.Memory, *r.PidsLimit, r.CpuWeight)
	}
	if err := m.Update(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}); err == nil {
		t.Error("Update with device rules succeeded")
	}
	if err := m.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](64)}, CPU: &specs.LinuxCPU{Quota: ptr[int64](-3)}}); err == nil {
		t.Error("Update with a negative quota succeeded")
	} else if r := m.State().Config.Resources; *r.PidsLimit != 32 {
		t.Errorf("a failed update changed the stored pids limit to %d", *r.PidsLimit)
	}
}

// The v2 counters, read from a fake tree and marshalled, come out in runc's
// `events --stats` shape.
func TestV2FakeStatsAndState(t *testing.T) {
	_, dir := fakeV2Tree(t)
	m, err := newFakeV2(t, "c1", &specs.Spec{Linux: &specs.Linux{CgroupsPath: "/berth/c1"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	kernelFiles(t, dir)
	write(t, dir, "cgroup.procs", "100\n101\n")
	write(t, filepath.Join(dir, "sub"), "cgroup.procs", "102\n")
	write(t, dir, "cpu.stat", "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 7\n")
	write(t, dir, "memory.current", "1048576\n")
	write(t, dir, "memory.max", "2097152\n")
	write(t, dir, "memory.swap.current", "0\n")
	write(t, dir, "memory.swap.max", "max\n")
	write(t, dir, "memory.stat", "anon 4096\nfile 8192\n")
	write(t, dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n")
	write(t, dir, "pids.current", "3\n")
	write(t, dir, "pids.max", "32\n")
	write(t, dir, "io.stat", "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n")

	pids, err := m.Pids()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pids)
	if !reflect.DeepEqual(pids, []int{100, 101, 102}) {
		t.Errorf("Pids() = %v, want [100 101 102] (recursive)", pids)
	}
	if n, err := m.OOMKillCount(); err != nil || n != 2 {
		t.Errorf("OOMKillCount() = %d, %v; want 2", n, err)
	}

	st, err := m.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	b, err := json.Marshal(Event{Type: "stats", ID: "c1", Data: st})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type, ID string
		Data     struct {
			CPU struct {
				Usage struct {
					Total, Kernel, User uint64
				}
				Throttling struct {
					Periods          uint64 `json:"periods"`
					ThrottledPeriods uint64 `json:"throttledPeriods"`
					ThrottledTime    uint64 `json:"throttledTime"`
				}
			}
			Memory struct {
				Usage struct{ Usage, Limit uint64 }
				Raw   map[string]uint64
			}
			Pids struct{ Current, Limit uint64 }
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "stats" || got.ID != "c1" {
		t.Errorf("event header = %q/%q", got.Type, got.ID)
	}
	c := got.Data.CPU
	if c.Usage.Total != 2000000 || c.Usage.User != 1500000 || c.Usage.Kernel != 500000 {
		t.Errorf("cpu usage = %+v (ns)", c.Usage)
	}
	if c.Throttling.Periods != 10 || c.Throttling.ThrottledPeriods != 3 || c.Throttling.ThrottledTime != 7000 {
		t.Errorf("throttling = %+v", c.Throttling)
	}
	if mu := got.Data.Memory.Usage; mu.Usage != 1048576 || mu.Limit != 2097152 {
		t.Errorf("memory usage = %+v", mu)
	}
	if got.Data.Memory.Raw["file"] != 8192 {
		t.Errorf("memory raw = %v", got.Data.Memory.Raw)
	}
	if p := got.Data.Pids; p.Current != 3 || p.Limit != 32 {
		t.Errorf("pids = %+v", p)
	}
	for _, key := range []string{`"cpu":`, `"memory":`, `"pids":`, `"blkio":`, `"hugetlb":`, `"kernelTCP":`, `"throttling":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("stats JSON lacks %s: %s", key, b)
		}
	}

	// Freezer: cgroup.freeze is written, and the state read back.
	if err := m.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if got := read(t, dir, "cgroup.freeze"); got != "1\n" {
		t.Errorf("cgroup.freeze = %q after Freeze", got)
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

	// State survives JSON, and Load gives a working manager on the same dir.
	raw, err := json.Marshal(m.State())
	if err != nil {
		t.Fatal(err)
	}
	var saved State
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(saved)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(m2.Paths(), m.Paths()) || !saved.V2 {
		t.Errorf("loaded paths %v (v2=%v), want %v", m2.Paths(), saved.V2, m.Paths())
	}
	if n := len(m2.State().Config.Resources.Devices); n != len(defaultDeviceRules()) {
		t.Errorf("loaded config has %d device rules, want %d", n, len(defaultDeviceRules()))
	}
	pids2, err := m2.Pids()
	if err != nil || len(pids2) != 3 {
		t.Errorf("loaded manager Pids() = %v, %v", pids2, err)
	}
}

func TestLoadRejectsBadState(t *testing.T) {
	for name, st := range map[string]State{
		"zero":        {},
		"old version": {Version: 99, Paths: map[string]string{"": "/x"}},
		"no config":   {Version: stateVersion, Paths: map[string]string{"": "/x"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(st); err == nil {
				t.Error("Load succeeded")
			}
		})
	}
}

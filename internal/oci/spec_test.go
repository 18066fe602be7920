//go:build linux

package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	units "github.com/docker/go-units"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/container"
)

// fakeHost is a host like the CI VM: no CAP_SYS_RESOURCE in the bounding
// set, nofile hard limit 524288, cgroup v1 with swap accounting.
func fakeHost() *Host {
	var bnd []string
	for _, c := range capability.ListKnown() {
		if c != capability.CAP_SYS_RESOURCE {
			bnd = append(bnd, capName(c))
		}
	}
	return &Host{BoundingSet: bnd, HardLimits: map[string]uint64{"nofile": 524288, "nproc": 1000}, NumCPU: 4, SwapLimit: true}
}

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func newC(edit func(*ctypes.Config, *ctypes.HostConfig)) *container.Container {
	cfg := &ctypes.Config{Image: "busybox", Cmd: []string{"echo", "hi"}}
	hc := &ctypes.HostConfig{}
	if edit != nil {
		edit(cfg, hc)
	}
	return container.New(testID, "/t", cfg, hc, time.Now())
}

func build(t *testing.T, edit func(*ctypes.Config, *ctypes.HostConfig), opts SpecOpts) (*specs.Spec, []string, error) {
	t.Helper()
	var warnings []string
	if opts.Host == nil {
		opts.Host = fakeHost()
	}
	opts.Warn = func(m string) { warnings = append(warnings, m) }
	if opts.ResolveContainer == nil {
		opts.ResolveContainer = func(id string) (int, error) {
			if id == "other" {
				return 4242, nil
			}
			return 0, container.Classed(container.ErrNotFound, "No such container: "+id)
		}
	}
	s, err := Spec(context.Background(), newC(edit), opts)
	return s, warnings, err
}

func mustBuild(t *testing.T, edit func(*ctypes.Config, *ctypes.HostConfig), opts SpecOpts) (*specs.Spec, []string) {
	t.Helper()
	s, w, err := build(t, edit, opts)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	return s, w
}

func mountAt(s *specs.Spec, dst string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dst {
			return &s.Mounts[i]
		}
	}
	return nil
}

func nsOf(s *specs.Spec, typ specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, n := range s.Linux.Namespaces {
		if n.Type == typ {
			return n, true
		}
	}
	return specs.LinuxNamespace{}, false
}

func TestDefaultSpec(t *testing.T) {
	s, warnings := mustBuild(t, nil, SpecOpts{RootfsPath: "/r"})
	want := slices.Clone(DefaultCapabilities)
	slices.Sort(want)
	if !slices.Equal(s.Process.Capabilities.Bounding, want) || len(want) != 14 ||
		!slices.Equal(s.Process.Capabilities.Effective, want) || len(s.Process.Capabilities.Inheritable) != 0 {
		t.Errorf("caps = %+v", s.Process.Capabilities)
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Errorf("seccomp = %+v", s.Linux.Seccomp)
	}
	if !slices.Equal(s.Linux.MaskedPaths, DefaultMaskedPaths) || !slices.Equal(s.Linux.ReadonlyPaths, DefaultReadonlyPaths) {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	var dsts []string
	for _, m := range s.Mounts {
		dsts = append(dsts, m.Destination)
	}
	if got := strings.Join(dsts, " "); got != "/proc /dev /dev/pts /sys /sys/fs/cgroup /dev/mqueue /dev/shm" {
		t.Errorf("mounts = %s", got)
	}
	if m := mountAt(s, "/dev/shm"); !slices.Contains(m.Options, "size=67108864") {
		t.Errorf("/dev/shm = %+v", m)
	}
	if m := mountAt(s, "/sys"); !slices.Contains(m.Options, "ro") {
		t.Errorf("/sys = %+v", m)
	}
	var types []string
	for _, n := range s.Linux.Namespaces {
		types = append(types, string(n.Type))
	}
	// cgroup v1: docker's default cgroupns is the host's.
	if got := strings.Join(types, " "); got != "mount pid ipc uts network" {
		t.Errorf("namespaces = %s", got)
	}
	if s.Linux.CgroupsPath != "/berth/"+testID || s.Hostname != testID[:12] || s.Root.Path != "/r" || s.Root.Readonly {
		t.Errorf("cgroupsPath %q hostname %q root %+v", s.Linux.CgroupsPath, s.Hostname, s.Root)
	}
	if !slices.Equal(s.Process.Args, []string{"echo", "hi"}) || s.Process.Cwd != "/" {
		t.Errorf("args %v cwd %q", s.Process.Args, s.Process.Cwd)
	}
	if !slices.Equal(s.Process.Env, []string{"PATH=" + DefaultPath, "HOSTNAME=" + testID[:12], "HOME=/"}) {
		t.Errorf("env = %v", s.Process.Env)
	}
	// The default nofile (1048576) exceeds this host's hard limit: clamped, with a warning.
	if len(s.Process.Rlimits) != 1 || s.Process.Rlimits[0] != (specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 524288, Hard: 524288}) {
		t.Errorf("rlimits = %+v", s.Process.Rlimits)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "nofile") {
		t.Errorf("warnings = %v", warnings)
	}
	if r := s.Linux.Resources; r.Memory != nil || r.CPU != nil || r.Pids != nil || len(r.Devices) < 3 || r.Devices[0].Allow {
		t.Errorf("resources = %+v", r)
	}
}

func TestPrivileged(t *testing.T) {
	s, _ := mustBuild(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.Privileged = true }, SpecOpts{})
	caps := s.Process.Capabilities.Bounding
	if slices.Contains(caps, "CAP_SYS_RESOURCE") || !slices.Contains(caps, "CAP_SYS_ADMIN") || len(caps) != len(fakeHost().BoundingSet) {
		t.Errorf("privileged caps (%d) = %v", len(caps), caps)
	}
	if s.Linux.Seccomp != nil || s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
		t.Errorf("privileged keeps confinement: seccomp %v masked %v ro %v", s.Linux.Seccomp != nil, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	if m := mountAt(s, "/sys"); slices.Contains(m.Options, "ro") {
		t.Errorf("/sys should be rw: %+v", m)
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow || d[0].Access != "rwm" {
		t.Errorf("device rules = %+v", d)
	}
	if len(s.Linux.Devices) == 0 {
		t.Error("no host devices")
	}
}

func TestCapabilities(t *testing.T) {
	cases := []struct {
		name       string
		add, drop  []string
		has, lacks []string
		count      int // 0: don't check
		err        string
	}{
		{"add without prefix", []string{"net_admin"}, nil, []string{"CAP_NET_ADMIN", "CAP_CHOWN"}, nil, 15, ""},
		{"add with prefix", []string{"CAP_SYS_PTRACE"}, nil, []string{"CAP_SYS_PTRACE"}, nil, 15, ""},
		{"drop", nil, []string{"chown", "CAP_NET_RAW"}, nil, []string{"CAP_CHOWN", "CAP_NET_RAW"}, 12, ""},
		{"drop all add one", []string{"chown"}, []string{"ALL"}, []string{"CAP_CHOWN"}, []string{"CAP_KILL"}, 1, ""},
		{"add all drop one", []string{"all"}, []string{"sys_admin"}, []string{"CAP_NET_ADMIN"}, []string{"CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"}, len(fakeHost().BoundingSet) - 1, ""},
		{"unknown", []string{"CAP_FLY"}, nil, nil, nil, 0, `unknown capability: "CAP_FLY"`},
		{"unknown drop", nil, []string{"bogus"}, nil, nil, 0, "unknown capability"},
		{"not in bounding set", []string{"SYS_RESOURCE"}, nil, nil, nil, 0, "not in the host's bounding set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := build(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.CapAdd, hc.CapDrop = tc.add, tc.drop }, SpecOpts{})
			if tc.err != "" {
				if !errors.Is(err, container.ErrInvalidParameter) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			caps := s.Process.Capabilities.Bounding
			for _, c := range tc.has {
				if !slices.Contains(caps, c) {
					t.Errorf("missing %s in %v", c, caps)
				}
			}
			for _, c := range tc.lacks {
				if slices.Contains(caps, c) {
					t.Errorf("unexpected %s", c)
				}
			}
			if tc.count != 0 && len(caps) != tc.count {
				t.Errorf("%d caps, want %d: %v", len(caps), tc.count, caps)
			}
		})
	}
}

func TestSecurityOpt(t *testing.T) {
	profile := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`
	cases := []struct {
		name    string
		opts    []string
		check   func(*specs.Spec) bool
		wantErr string
	}{
		{"unconfined", []string{"seccomp=unconfined"}, func(s *specs.Spec) bool { return s.Linux.Seccomp == nil }, ""},
		{"custom profile", []string{"seccomp=" + profile}, func(s *specs.Spec) bool {
			return s.Linux.Seccomp.DefaultAction == specs.ActAllow && len(s.Linux.Seccomp.Syscalls) == 1
		}, ""},
		{"no-new-privileges", []string{"no-new-privileges"}, func(s *specs.Spec) bool { return s.Process.NoNewPrivileges }, ""},
		{"no-new-privileges:true", []string{"no-new-privileges:true"}, func(s *specs.Spec) bool { return s.Process.NoNewPrivileges }, ""},
		{"systempaths", []string{"systempaths=unconfined"}, func(s *specs.Spec) bool { return s.Linux.MaskedPaths == nil }, ""},
		{"apparmor ignored", []string{"apparmor=unconfined"}, func(s *specs.Spec) bool { return s.Linux.Seccomp != nil }, ""},
		{"unknown key", []string{"bogus=1"}, nil, "invalid --security-opt"},
		{"no value", []string{"seccomp"}, nil, "invalid --security-opt 1"},
		{"profile path", []string{"seccomp=/etc/p.json"}, nil, "JSON"},
		{"bad profile", []string{"seccomp={nope"}, nil, "invalid seccomp profile"},
		{"bad nnp", []string{"no-new-privileges=maybe"}, nil, "invalid --security-opt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := build(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.SecurityOpt = tc.opts }, SpecOpts{})
			if tc.wantErr != "" {
				if !errors.Is(err, container.ErrInvalidParameter) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(s) {
				t.Fatalf("err %v / check failed", err)
			}
		})
	}
}

func TestResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	cases := []struct {
		name  string
		r     ctypes.Resources
		check func(*specs.LinuxResources) error
		err   string
	}{
		{"memory doubles swap", ctypes.Resources{Memory: 64 << 20, MemoryReservation: 32 << 20}, func(r *specs.LinuxResources) error {
			if *r.Memory.Limit != 64<<20 || *r.Memory.Swap != 128<<20 || *r.Memory.Reservation != 32<<20 {
				return fmt.Errorf("%+v", r.Memory)
			}
			return nil
		}, ""},
		{"unlimited swap", ctypes.Resources{Memory: 64 << 20, MemorySwap: -1}, func(r *specs.LinuxResources) error {
			if *r.Memory.Swap != -1 {
				return fmt.Errorf("swap %d", *r.Memory.Swap)
			}
			return nil
		}, ""},
		{"nano cpus", ctypes.Resources{NanoCPUs: 1500000000, CPUShares: 512}, func(r *specs.LinuxResources) error {
			if *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 512 {
				return fmt.Errorf("%+v", r.CPU)
			}
			return nil
		}, ""},
		{"quota period cpuset", ctypes.Resources{CPUQuota: 50000, CPUPeriod: 200000, CpusetCpus: "0-1,3", CpusetMems: "0"}, func(r *specs.LinuxResources) error {
			if *r.CPU.Quota != 50000 || *r.CPU.Period != 200000 || r.CPU.Cpus != "0-1,3" || r.CPU.Mems != "0" {
				return fmt.Errorf("%+v", r.CPU)
			}
			return nil
		}, ""},
		{"pids and blkio and oom", ctypes.Resources{PidsLimit: i64(100), BlkioWeight: 300, Memory: 8 << 20, OomKillDisable: func() *bool { b := true; return &b }()}, func(r *specs.LinuxResources) error {
			if *r.Pids.Limit != 100 || *r.BlockIO.Weight != 300 || !*r.Memory.DisableOOMKiller {
				return fmt.Errorf("%+v %+v", r.Pids, r.BlockIO)
			}
			return nil
		}, ""},
		{"pids zero unlimited", ctypes.Resources{PidsLimit: i64(0)}, func(r *specs.LinuxResources) error {
			if *r.Pids.Limit != -1 {
				return fmt.Errorf("%d", *r.Pids.Limit)
			}
			return nil
		}, ""},
		{"negative memory", ctypes.Resources{Memory: -1}, nil, "Minimum memory limit allowed is 6MB"},
		{"tiny memory", ctypes.Resources{Memory: 4 << 20}, nil, "Minimum memory limit allowed is 6MB"},
		{"swap without memory", ctypes.Resources{MemorySwap: 1 << 30}, nil, "always set the Memory limit"},
		{"swap below memory", ctypes.Resources{Memory: 1 << 30, MemorySwap: 1 << 29}, nil, "memoryswap limit should be larger"},
		{"reservation above limit", ctypes.Resources{Memory: 8 << 20, MemoryReservation: 16 << 20}, nil, "memory reservation limit"},
		{"too many cpus", ctypes.Resources{NanoCPUs: 5e9}, nil, "Range of CPUs is from 0.01 to 4.00"},
		{"nano and quota", ctypes.Resources{NanoCPUs: 1e9, CPUQuota: 50000}, nil, "Conflicting options"},
		{"period too small", ctypes.Resources{CPUPeriod: 10}, nil, "CPU cfs period"},
		{"quota too small", ctypes.Resources{CPUQuota: 10}, nil, "CPU cfs quota"},
		{"bad cpuset", ctypes.Resources{CpusetCpus: "0-"}, nil, "Invalid value 0- for cpuset cpus"},
		{"cpuset out of range", ctypes.Resources{CpusetCpus: "7"}, nil, "not available"},
		{"reversed cpuset", ctypes.Resources{CpusetCpus: "3-1"}, nil, "invalid range"},
		{"blkio weight", ctypes.Resources{BlkioWeight: 5}, nil, "blkio weight"},
		{"negative shares", ctypes.Resources{CPUShares: -2}, nil, "CPU shares"},
		{"swappiness", ctypes.Resources{MemorySwappiness: i64(101)}, nil, "swappiness"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := build(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.Resources = tc.r }, SpecOpts{})
			if tc.err != "" {
				if !errors.Is(err, container.ErrInvalidParameter) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e := tc.check(s.Linux.Resources); e != nil {
				t.Fatal(e)
			}
		})
	}
}

func TestNoSwapAccounting(t *testing.T) {
	h := fakeHost()
	h.SwapLimit = false
	s, w := mustBuild(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.Memory, hc.MemorySwap = 64<<20, 128<<20 }, SpecOpts{Host: h})
	if s.Linux.Resources.Memory.Swap != nil || !slices.ContainsFunc(w, func(m string) bool { return strings.Contains(m, "swap") }) {
		t.Fatalf("swap %v warnings %v", s.Linux.Resources.Memory.Swap, w)
	}
}

func TestUlimits(t *testing.T) {
	cases := []struct {
		name    string
		host    map[string]uint64
		bnd     bool // CAP_SYS_RESOURCE in the bounding set
		defs    []*ctypes.Ulimit
		user    []*ctypes.Ulimit
		want    []specs.POSIXRlimit
		warns   int
		wantErr string
	}{
		{"default within host", map[string]uint64{"nofile": 1 << 21}, false, nil, nil,
			[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: DefaultNofile, Hard: DefaultNofile}}, 0, ""},
		{"default clamped", map[string]uint64{"nofile": 4096}, false, nil, nil,
			[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 4096, Hard: 4096}}, 1, ""},
		{"user overrides default", map[string]uint64{"nofile": 4096}, false, nil, []*ctypes.Ulimit{{Name: "nofile", Soft: 100, Hard: 200}},
			[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}}, 1, ""},
		{"daemon defaults", map[string]uint64{}, false, []*ctypes.Ulimit{{Name: "nproc", Soft: 10, Hard: 20}}, nil,
			[]specs.POSIXRlimit{{Type: "RLIMIT_NPROC", Soft: 10, Hard: 20}}, 0, ""},
		{"user above host", map[string]uint64{"nofile": 4096}, false, []*ctypes.Ulimit{}, []*ctypes.Ulimit{{Name: "nofile", Soft: 1, Hard: 8192}}, nil, 0, "cannot be raised"},
		{"user above host with CAP_SYS_RESOURCE", map[string]uint64{"nofile": 4096}, true, []*ctypes.Ulimit{}, []*ctypes.Ulimit{{Name: "nofile", Soft: 1, Hard: 8192}},
			[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 8192}}, 0, ""},
		{"soft above hard", nil, false, []*ctypes.Ulimit{}, []*ctypes.Ulimit{{Name: "core", Soft: 5, Hard: 1}}, nil, 0, "soft limit must be less"},
		{"unknown", nil, false, []*ctypes.Ulimit{}, []*ctypes.Ulimit{{Name: "bogus", Soft: 1, Hard: 1}}, nil, 0, "invalid ulimit type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeHost()
			h.HardLimits = tc.host
			if tc.bnd {
				h.BoundingSet = append(h.BoundingSet, "CAP_SYS_RESOURCE")
			}
			s, w, err := build(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.Ulimits = tc.user }, SpecOpts{Host: h, DefaultUlimits: tc.defs})
			if tc.wantErr != "" {
				if !errors.Is(err, container.ErrInvalidParameter) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Process.Rlimits, tc.want) || len(w) != tc.warns {
				t.Fatalf("rlimits %+v warnings %v", s.Process.Rlimits, w)
			}
		})
	}
}

func TestNamespaces(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*ctypes.HostConfig)
		host    *Host
		want    map[specs.LinuxNamespaceType]string // "" new, "absent", or a path
		wantErr string
		class   error
	}{
		{"host modes", func(hc *ctypes.HostConfig) {
			hc.PidMode, hc.IpcMode, hc.UTSMode, hc.NetworkMode = "host", "host", "host", "host"
		}, nil, map[specs.LinuxNamespaceType]string{"pid": "absent", "ipc": "absent", "uts": "absent", "network": "absent", "mount": ""}, "", nil},
		{"container modes", func(hc *ctypes.HostConfig) {
			hc.PidMode, hc.IpcMode, hc.NetworkMode = "container:other", "container:other", "container:other"
		}, nil, map[specs.LinuxNamespaceType]string{"pid": "/proc/4242/ns/pid", "ipc": "/proc/4242/ns/ipc", "network": "/proc/4242/ns/net", "uts": ""}, "", nil},
		{"none network", func(hc *ctypes.HostConfig) { hc.NetworkMode = "none" }, nil, map[specs.LinuxNamespaceType]string{"network": ""}, "", nil},
		{"private cgroupns", func(hc *ctypes.HostConfig) { hc.CgroupnsMode = "private" }, nil, map[specs.LinuxNamespaceType]string{"cgroup": ""}, "", nil},
		{"v2 default cgroupns", func(hc *ctypes.HostConfig) {}, &Host{CgroupV2: true, NumCPU: 1, BoundingSet: DefaultCapabilities}, map[specs.LinuxNamespaceType]string{"cgroup": ""}, "", nil},
		{"v1 default cgroupns", func(hc *ctypes.HostConfig) {}, nil, map[specs.LinuxNamespaceType]string{"cgroup": "absent"}, "", nil},
		{"unknown container", func(hc *ctypes.HostConfig) { hc.PidMode = "container:ghost" }, nil, nil, "No such container: ghost", container.ErrNotFound},
		{"bad pid mode", func(hc *ctypes.HostConfig) { hc.PidMode = "sideways" }, nil, nil, "invalid PidMode", container.ErrInvalidParameter},
		{"bad cgroupns", func(hc *ctypes.HostConfig) { hc.CgroupnsMode = "container:other" }, nil, nil, "invalid cgroup namespace mode", container.ErrInvalidParameter},
		{"user network", func(hc *ctypes.HostConfig) { hc.NetworkMode = "mynet" }, nil, map[specs.LinuxNamespaceType]string{"network": ""}, "", nil},
		{"empty container", func(hc *ctypes.HostConfig) { hc.IpcMode = "container:" }, nil, nil, "invalid IpcMode", container.ErrInvalidParameter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := build(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { tc.edit(hc) }, SpecOpts{Host: tc.host})
			if tc.wantErr != "" {
				if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %v %q", err, tc.class, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for typ, want := range tc.want {
				n, ok := nsOf(s, typ)
				switch {
				case want == "absent" && ok:
					t.Errorf("%s: unexpected namespace %+v", typ, n)
				case want != "absent" && (!ok || n.Path != want):
					t.Errorf("%s: got %+v (present %v), want %q", typ, n, ok, want)
				}
			}
		})
	}
	shmOf := func(id string) (string, error) { return "/var/lib/berth/containers/" + id + "/shm", nil }
	s, _ := mustBuild(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.IpcMode = "container:other" }, SpecOpts{ResolveShm: shmOf})
	if m := mountAt(s, "/dev/shm"); m == nil || m.Source != "/var/lib/berth/containers/other/shm" || m.Type != "bind" {
		t.Errorf("container ipc /dev/shm = %+v", m)
	}
	s, w := mustBuild(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.IpcMode = "container:other" }, SpecOpts{})
	if mountAt(s, "/dev/shm") != nil || !slices.ContainsFunc(w, func(m string) bool { return strings.Contains(m, "not shared") }) {
		t.Errorf("no shm resolver: mount %+v warnings %v", mountAt(s, "/dev/shm"), w)
	}
	s, _ = mustBuild(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) {}, SpecOpts{ShmPath: "/x/shm"})
	if m := mountAt(s, "/dev/shm"); m == nil || m.Source != "/x/shm" {
		t.Errorf("ShmPath /dev/shm = %+v", m)
	}
	s, _ = mustBuild(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.IpcMode = "none" }, SpecOpts{})
	if mountAt(s, "/dev/shm") != nil {
		t.Error("ipc none still mounts /dev/shm")
	}
}

func TestMounts(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "exists")
	os.Mkdir(existing, 0o755)
	created := filepath.Join(dir, "made", "by", "bind")
	cases := []struct {
		name  string
		edit  func(*ctypes.HostConfig)
		check func(*specs.Spec) error
		err   string
	}{
		{"binds, mounts, tmpfs", func(hc *ctypes.HostConfig) {
			hc.Binds = []string{existing + ":/data:ro", created + ":/data/sub:rslave"}
			hc.Mounts = []mount.Mount{
				{Type: mount.TypeBind, Source: existing, Target: "/m", BindOptions: &mount.BindOptions{NonRecursive: true}},
				{Type: mount.TypeTmpfs, Target: "/scratch", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o1777}},
			}
			hc.Tmpfs = map[string]string{"/run": "exec,size=64m"}
			hc.ShmSize = 1 << 20
		}, func(s *specs.Spec) error {
			want := map[string]specs.Mount{
				"/data":     {Destination: "/data", Type: "bind", Source: existing, Options: []string{"rbind", "ro", "rprivate"}},
				"/data/sub": {Destination: "/data/sub", Type: "bind", Source: created, Options: []string{"rbind", "rslave"}},
				"/m":        {Destination: "/m", Type: "bind", Source: existing, Options: []string{"bind", "rprivate"}},
				"/scratch":  {Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev", "size=1024k", "mode=1777"}},
				"/run":      {Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=64m"}},
			}
			for dst, w := range want {
				m := mountAt(s, dst)
				if m == nil || m.Type != w.Type || m.Source != w.Source || !slices.Equal(m.Options, w.Options) {
					return fmt.Errorf("%s = %+v, want %+v", dst, m, w)
				}
			}
			if fi, err := os.Stat(created); err != nil || !fi.IsDir() {
				return fmt.Errorf("bind source not created: %v", err)
			}
			if s.Linux.RootfsPropagation != "rslave" {
				return fmt.Errorf("rootfs propagation %q", s.Linux.RootfsPropagation)
			}
			if !slices.Contains(mountAt(s, "/dev/shm").Options, "size=1048576") {
				return fmt.Errorf("shm %+v", mountAt(s, "/dev/shm"))
			}
			var order []string
			for _, m := range s.Mounts {
				order = append(order, m.Destination)
			}
			if slices.Index(order, "/data") > slices.Index(order, "/data/sub") {
				return fmt.Errorf("parent after child: %v", order)
			}
			return nil
		}, ""},
		{"user shm replaces default", func(hc *ctypes.HostConfig) { hc.Tmpfs = map[string]string{"/dev/shm": "size=1m"} }, func(s *specs.Spec) error {
			n := 0
			for _, m := range s.Mounts {
				if m.Destination == "/dev/shm" {
					n++
				}
			}
			if n != 1 || !slices.Contains(mountAt(s, "/dev/shm").Options, "size=1m") {
				return fmt.Errorf("%d /dev/shm mounts", n)
			}
			return nil
		}, ""},
		{"readonly rootfs", func(hc *ctypes.HostConfig) { hc.ReadonlyRootfs = true }, func(s *specs.Spec) error {
			if !s.Root.Readonly {
				return fmt.Errorf("root not readonly")
			}
			return nil
		}, ""},
		{"bad bind", func(hc *ctypes.HostConfig) { hc.Binds = []string{"/a:/x:rx"} }, nil, "invalid volume specification"},
		{"duplicate", func(hc *ctypes.HostConfig) {
			hc.Binds = []string{existing + ":/x"}
			hc.Tmpfs = map[string]string{"/x": ""}
		}, nil, "Duplicate mount point: /x"},
		{"tmpfs on root", func(hc *ctypes.HostConfig) { hc.Tmpfs = map[string]string{"/": ""} }, nil, "destination can't be '/'"},
		{"relative tmpfs", func(hc *ctypes.HostConfig) { hc.Tmpfs = map[string]string{"run": ""} }, nil, "must be absolute"},
		{"bad tmpfs size", func(hc *ctypes.HostConfig) { hc.Tmpfs = map[string]string{"/run": "size=lots"} }, nil, "invalid tmpfs size"},
		{"mount missing source", func(hc *ctypes.HostConfig) {
			hc.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: filepath.Join(dir, "nope"), Target: "/x"}}
		}, nil, "bind source path does not exist"},
		{"mount tmpfs on root", func(hc *ctypes.HostConfig) { hc.Mounts = []mount.Mount{{Type: mount.TypeTmpfs, Target: "/"}} }, nil, "destination can't be '/'"},
		{"volume mount on root", func(hc *ctypes.HostConfig) {
			hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: "v", Target: "/"}}
		}, nil, "destination can't be '/'"},
		{"bind inside /proc", func(hc *ctypes.HostConfig) {
			hc.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: "/tmp", Target: "/proc/sys/x"}}
		}, nil, "inside /proc"},
		{"negative shm", func(hc *ctypes.HostConfig) { hc.ShmSize = -1 }, nil, "SHM size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := build(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) { tc.edit(hc) }, SpecOpts{})
			if tc.err != "" {
				if !errors.Is(err, container.ErrInvalidParameter) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e := tc.check(s); e != nil {
				t.Fatal(e)
			}
		})
	}
}

func TestProcess(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\napp:x:1000:\naudio:x:29:app\nvideo:x:44:\n"), 0o644)
	yes := true
	cases := []struct {
		name  string
		edit  func(*ctypes.Config, *ctypes.HostConfig)
		check func(*specs.Spec) error
		err   string
	}{
		{"named user", func(c *ctypes.Config, hc *ctypes.HostConfig) { c.User = "app"; hc.GroupAdd = []string{"video", "7"} }, func(s *specs.Spec) error {
			u := s.Process.User
			if u.UID != 1000 || u.GID != 1000 || !slices.Equal(u.AdditionalGids, []uint32{7, 29, 44}) || !slices.Contains(s.Process.Env, "HOME=/home/app") {
				return fmt.Errorf("user %+v env %v", u, s.Process.Env)
			}
			return nil
		}, ""},
		{"numeric user", func(c *ctypes.Config, _ *ctypes.HostConfig) { c.User = "4000:5000" }, func(s *specs.Spec) error {
			if s.Process.User.UID != 4000 || s.Process.User.GID != 5000 {
				return fmt.Errorf("%+v", s.Process.User)
			}
			return nil
		}, ""},
		{"entrypoint env workdir tty init", func(c *ctypes.Config, hc *ctypes.HostConfig) {
			c.Entrypoint, c.Cmd = []string{"/bin/sh", "-c"}, []string{"exit 3"}
			c.Env = []string{"A=1", "PATH=/x", "DROPPED"}
			c.WorkingDir, c.Tty = "/tmp", true
			c.Hostname, c.Domainname = "box", "example.org"
			hc.Init = &yes
			hc.OomScoreAdj = 500
			hc.Sysctls = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "100"}
		}, func(s *specs.Spec) error {
			if !slices.Equal(s.Process.Args, []string{"/sbin/docker-init", "--", "/bin/sh", "-c", "exit 3"}) {
				return fmt.Errorf("args %v", s.Process.Args)
			}
			if m := s.Mounts[len(s.Mounts)-1]; m.Destination != "/sbin/docker-init" || m.Source != "/init" || m.Type != "bind" || !slices.Contains(m.Options, "ro") {
				return fmt.Errorf("init mount %+v", m)
			}
			if !slices.Equal(s.Process.Env, []string{"HOSTNAME=box", "TERM=xterm", "A=1", "PATH=/x", "HOME=/root"}) {
				return fmt.Errorf("env %v", s.Process.Env)
			}
			if s.Process.Cwd != "/tmp" || !s.Process.Terminal || s.Hostname != "box" || s.Domainname != "example.org" || *s.Process.OOMScoreAdj != 500 {
				return fmt.Errorf("process %+v", s.Process)
			}
			if len(s.Linux.Sysctl) != 2 {
				return fmt.Errorf("sysctls %v", s.Linux.Sysctl)
			}
			return nil
		}, ""},
		{"cgroup parent", func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.CgroupParent = "/tenants/a/" }, func(s *specs.Spec) error {
			if s.Linux.CgroupsPath != "/tenants/a/"+testID {
				return fmt.Errorf("cgroupsPath %q", s.Linux.CgroupsPath)
			}
			return nil
		}, ""},
		{"unknown user", func(c *ctypes.Config, _ *ctypes.HostConfig) { c.User = "ghost" }, nil, "unable to find user ghost"},
		{"unknown group", func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.GroupAdd = []string{"ghosts"} }, nil, "additional groups"},
		{"no command", func(c *ctypes.Config, _ *ctypes.HostConfig) { c.Cmd = nil }, nil, "no command specified"},
		{"relative workdir", func(c *ctypes.Config, _ *ctypes.HostConfig) { c.WorkingDir = "tmp" }, nil, "needs to be an absolute path"},
		{"oom score", func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.OomScoreAdj = 2000 }, nil, "range for oom score adj"},
		{"host sysctl", func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.Sysctls = map[string]string{"kernel.panic": "1"} }, nil, `sysctl "kernel.panic" is not allowed`},
		{"net sysctl on host net", func(_ *ctypes.Config, hc *ctypes.HostConfig) {
			hc.NetworkMode = "host"
			hc.Sysctls = map[string]string{"net.core.somaxconn": "1"}
		}, nil, "not allowed in host network namespace"},
		{"ipc sysctl on host ipc", func(_ *ctypes.Config, hc *ctypes.HostConfig) {
			hc.IpcMode = "host"
			hc.Sysctls = map[string]string{"kernel.sem": "1"}
		}, nil, "not allowed in host IPC namespace"},
		{"cgroup parent escape", func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.CgroupParent = "../../etc" }, nil, "invalid cgroup parent"},
		{"bad env", func(c *ctypes.Config, _ *ctypes.HostConfig) { c.Env = []string{"=x"} }, nil, "invalid environment variable"},
		{"bad device", func(_ *ctypes.Config, hc *ctypes.HostConfig) {
			hc.Devices = []ctypes.DeviceMapping{{PathOnHost: "/etc/hostname"}}
		}, nil, "not a device node"},
		{"bad device mode", func(_ *ctypes.Config, hc *ctypes.HostConfig) {
			hc.Devices = []ctypes.DeviceMapping{{PathOnHost: "/dev/null", CgroupPermissions: "rwx"}}
		}, nil, "invalid device mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := build(t, tc.edit, SpecOpts{RootfsPath: root, InitPath: "/init"})
			if tc.err != "" {
				if !errors.Is(err, container.ErrInvalidParameter) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e := tc.check(s); e != nil {
				t.Fatal(e)
			}
		})
	}
}

func TestDevices(t *testing.T) {
	s, _ := mustBuild(t, func(_ *ctypes.Config, hc *ctypes.HostConfig) {
		hc.Devices = []ctypes.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rw"}}
	}, SpecOpts{})
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/mynull" || s.Linux.Devices[0].Major != 1 || s.Linux.Devices[0].Minor != 3 {
		t.Fatalf("devices %+v", s.Linux.Devices)
	}
	last := s.Linux.Resources.Devices[len(s.Linux.Resources.Devices)-1]
	if !last.Allow || last.Access != "rw" || *last.Major != 1 || *last.Minor != 3 {
		t.Fatalf("rule %+v", last)
	}
}

func TestDetectHost(t *testing.T) {
	h, err := DetectHost()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.BoundingSet) == 0 || h.NumCPU < 1 || h.HardLimits["nofile"] == 0 {
		t.Fatalf("%+v", h)
	}
	_ = units.Ulimit{}
}

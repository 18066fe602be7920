package cgroups

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

func TestConvertSpec(t *testing.T) {
	defaults := len(defaultDeviceRules())
	tests := []struct {
		name    string
		r       *specs.LinuxResources
		v2      bool
		wantErr string                                   // substring; "" means success
		check   func(t *testing.T, r *cgroups.Resources) // on success
	}{
		{
			name: "nil resources gives only the default devices",
			r:    nil,
			check: func(t *testing.T, r *cgroups.Resources) {
				want := &cgroups.Resources{Devices: defaultDeviceRules()}
				if !reflect.DeepEqual(r, want) {
					t.Errorf("got %+v, want %+v", r, want)
				}
			},
		},
		{
			name: "memory",
			r: &specs.LinuxResources{Memory: &specs.LinuxMemory{
				Limit: ptr[int64](64 << 20), Reservation: ptr[int64](32 << 20), Swap: ptr[int64](128 << 20),
				Swappiness: ptr[uint64](60), DisableOOMKiller: ptr(true), CheckBeforeUpdate: ptr(true),
				Kernel: ptr[int64](1 << 20), KernelTCP: ptr[int64](1 << 20), UseHierarchy: ptr(true),
			}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.Memory != 64<<20 || r.MemoryReservation != 32<<20 || r.MemorySwap != 128<<20 {
					t.Errorf("memory/reservation/swap = %d/%d/%d", r.Memory, r.MemoryReservation, r.MemorySwap)
				}
				if r.MemorySwappiness == nil || *r.MemorySwappiness != 60 {
					t.Errorf("swappiness = %v", r.MemorySwappiness)
				}
				if !r.OomKillDisable || !r.MemoryCheckBeforeUpdate {
					t.Errorf("oomKillDisable=%v checkBeforeUpdate=%v", r.OomKillDisable, r.MemoryCheckBeforeUpdate)
				}
			},
		},
		{
			name: "memory -1 means unlimited",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-1), Swap: ptr[int64](-1)}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.Memory != -1 || r.MemorySwap != -1 {
					t.Errorf("memory/swap = %d/%d", r.Memory, r.MemorySwap)
				}
			},
		},
		{
			name: "docker's unset swappiness (-1 as uint64) stays unset",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr[uint64](math.MaxUint64)}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.MemorySwappiness != nil {
					t.Errorf("swappiness = %d, want nil", *r.MemorySwappiness)
				}
			},
		},
		{name: "negative memory limit", r: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-2)}}, wantErr: "memory: limit -2 is negative"},
		{name: "negative reservation", r: &specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: ptr[int64](-100)}}, wantErr: "reservation -100"},
		{name: "swap below limit", r: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](200), Swap: ptr[int64](100)}}, wantErr: "swap 100 (memory+swap) is below limit 200"},
		{name: "swappiness over 100", r: &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr[uint64](101)}}, wantErr: "swappiness 101"},
		{
			name: "cpu",
			r: &specs.LinuxResources{CPU: &specs.LinuxCPU{
				Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000), Burst: ptr[uint64](1000),
				RealtimeRuntime: ptr[int64](950000), RealtimePeriod: ptr[uint64](1000000),
				Cpus: "0-1,3", Mems: "0", Idle: ptr[int64](1),
			}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.CpuShares != 512 || r.CpuWeight != 59 {
					t.Errorf("shares/weight = %d/%d, want 512/59", r.CpuShares, r.CpuWeight)
				}
				if r.CpuQuota != 50000 || r.CpuPeriod != 100000 || r.CpuBurst == nil || *r.CpuBurst != 1000 {
					t.Errorf("quota/period/burst = %d/%d/%v", r.CpuQuota, r.CpuPeriod, r.CpuBurst)
				}
				if r.CpuRtRuntime != 950000 || r.CpuRtPeriod != 1000000 {
					t.Errorf("rt runtime/period = %d/%d", r.CpuRtRuntime, r.CpuRtPeriod)
				}
				if r.CpusetCpus != "0-1,3" || r.CpusetMems != "0" || r.CPUIdle == nil || *r.CPUIdle != 1 {
					t.Errorf("cpus/mems/idle = %q/%q/%v", r.CpusetCpus, r.CpusetMems, r.CPUIdle)
				}
			},
		},
		{
			name: "cpu shares 1024 map to the v2 default weight 100",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](1024), Quota: ptr[int64](-1)}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.CpuWeight != 100 || r.CpuQuota != -1 {
					t.Errorf("weight/quota = %d/%d", r.CpuWeight, r.CpuQuota)
				}
			},
		},
		{name: "cpu shares too small", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](1)}}, wantErr: "cpu: shares 1 is out of range"},
		{name: "cpu shares too big", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](1 << 20)}}, wantErr: "shares 1048576"},
		{name: "negative quota", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](-5)}}, wantErr: "quota -5 is negative"},
		{name: "quota under 1ms", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](500)}}, wantErr: "quota 500us is below"},
		{name: "period out of range", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr[uint64](2000000)}}, wantErr: "period 2000000us"},
		{name: "negative rt runtime", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr[int64](-7)}}, wantErr: "realtimeRuntime -7"},
		{name: "cpus with junk", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-1\n2"}}, wantErr: "cpus \"0-1\\n2\""},
		{name: "mems with junk", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "all"}}, wantErr: "mems \"all\""},
		{name: "idle not 0 or 1", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: ptr[int64](-1)}}, wantErr: "idle -1"},
		{
			name: "pids limit",
			r:    &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](32)}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.PidsLimit == nil || *r.PidsLimit != 32 {
					t.Errorf("pids = %v", r.PidsLimit)
				}
			},
		},
		{
			name: "pids limit 0 is a limit, not unlimited",
			r:    &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](0)}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.PidsLimit == nil || *r.PidsLimit != 0 {
					t.Errorf("pids = %v, want 0", r.PidsLimit)
				}
			},
		},
		{
			name: "pids limit below -1 means unlimited",
			r:    &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](-5)}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.PidsLimit == nil || *r.PidsLimit != -1 {
					t.Errorf("pids = %v, want -1 (max)", r.PidsLimit)
				}
			},
		},
		{
			name: "block io",
			r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
				Weight: ptr[uint16](500), LeafWeight: ptr[uint16](300),
				WeightDevice: []specs.LinuxWeightDevice{{
					LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: ptr[uint16](200),
				}},
				ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}},
				ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 2 << 20}},
				ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 100}},
				ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 200}},
			}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.BlkioWeight != 500 || r.BlkioLeafWeight != 300 {
					t.Errorf("weight/leaf = %d/%d", r.BlkioWeight, r.BlkioLeafWeight)
				}
				if len(r.BlkioWeightDevice) != 1 || r.BlkioWeightDevice[0].WeightString() != "8:0 200" {
					t.Errorf("weight devices = %+v", r.BlkioWeightDevice)
				}
				got := []string{
					r.BlkioThrottleReadBpsDevice[0].String(), r.BlkioThrottleWriteBpsDevice[0].String(),
					r.BlkioThrottleReadIOPSDevice[0].String(), r.BlkioThrottleWriteIOPSDevice[0].String(),
				}
				want := []string{"8:0 1048576", "8:0 2097152", "8:0 100", "8:0 200"}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("throttles = %q, want %q", got, want)
				}
			},
		},
		{name: "blkio weight out of range", r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](5)}}, wantErr: "blockIO: weight 5 is out of range 10-1000"},
		{
			name: "blkio negative device number",
			r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: -8, Minor: 0}, Rate: 1},
			}}},
			wantErr: "throttleReadBpsDevice[0]: device -8:0",
		},
		{
			name: "hugepages, network and rdma",
			r: &specs.LinuxResources{
				HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 30}},
				Network:        &specs.LinuxNetwork{ClassID: ptr[uint32](0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
				Rdma:           map[string]specs.LinuxRdma{"mlx5_1": {HcaHandles: ptr[uint32](3)}},
			},
			check: func(t *testing.T, r *cgroups.Resources) {
				if len(r.HugetlbLimit) != 1 || *r.HugetlbLimit[0] != (cgroups.HugepageLimit{Pagesize: "2MB", Limit: 1 << 30}) {
					t.Errorf("hugetlb = %+v", r.HugetlbLimit)
				}
				if r.NetClsClassid != 0x100001 || len(r.NetPrioIfpriomap) != 1 || r.NetPrioIfpriomap[0].CgroupString() != "eth0 5" {
					t.Errorf("net_cls/net_prio = %d/%+v", r.NetClsClassid, r.NetPrioIfpriomap)
				}
				if h := r.Rdma["mlx5_1"].HcaHandles; h == nil || *h != 3 {
					t.Errorf("rdma = %+v", r.Rdma)
				}
			},
		},
		{name: "bad hugepage size", r: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "../2MB"}}}, wantErr: "hugepageLimits[0]: invalid page size"},
		{name: "bad interface name", r: &specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "eth0 7"}}}}, wantErr: "network.priorities[0]"},
		{
			name: "unified on v2",
			v2:   true,
			r:    &specs.LinuxResources{Unified: map[string]string{"memory.high": "100000"}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.Unified["memory.high"] != "100000" {
					t.Errorf("unified = %v", r.Unified)
				}
			},
		},
		{name: "unified on v1", r: &specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}}, wantErr: "unified: cgroup v2 resources given, but this host uses cgroup v1"},
		{
			name: "empty unified on v1 is fine",
			r:    &specs.LinuxResources{Unified: map[string]string{}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if r.Unified != nil {
					t.Errorf("unified = %v, want nil (the v1 driver rejects any non-nil map)", r.Unified)
				}
			},
		},
		{name: "unified key without controller", v2: true, r: &specs.LinuxResources{Unified: map[string]string{"max": "1"}}, wantErr: `key "max"`},
		{name: "unified key with a slash", v2: true, r: &specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}}, wantErr: `key "../memory.max"`},
		{
			name: "device rules come first, then runc's defaults",
			r: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
				{Allow: false, Access: "rwm"},
				{Allow: true, Type: "c", Major: ptr[int64](4), Minor: ptr[int64](1), Access: "rw"},
				{Allow: true, Type: "b", Major: ptr[int64](8), Access: "r"},
			}},
			check: func(t *testing.T, r *cgroups.Resources) {
				if len(r.Devices) != 3+defaults {
					t.Fatalf("got %d rules, want %d", len(r.Devices), 3+defaults)
				}
				var got []string
				for _, d := range r.Devices[:3] {
					got = append(got, d.CgroupString())
				}
				want := []string{"a *:* rwm", "c 4:1 rw", "b 8:* r"}
				if !reflect.DeepEqual(got, want) || r.Devices[0].Allow || !r.Devices[1].Allow {
					t.Errorf("rules = %q (allow %v,%v), want %q", got, r.Devices[0].Allow, r.Devices[1].Allow, want)
				}
			},
		},
		{name: "unknown device type", r: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "p", Access: "rwm"}}}, wantErr: `devices[0]: unknown device type "p"`},
		{name: "empty device access", r: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c"}}}, wantErr: `devices[0]: invalid access ""`},
		{name: "bad device access", r: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwx"}}}, wantErr: `invalid access "rwx"`},
		{name: "negative device major", r: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: ptr[int64](-3), Access: "r"}}}, wantErr: "devices[0]: invalid major -3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := convertSpec(tt.r, tt.v2)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.r == nil || len(tt.r.Devices) == 0 {
				if len(got.Devices) != defaults {
					t.Errorf("got %d device rules, want the %d defaults", len(got.Devices), defaults)
				}
			}
			tt.check(t, got)
		})
	}
}

// The defaults are runc's AllowedDevices: /dev/null and friends, pts, ptmx,
// tun, and mknod of anything.
func TestDefaultDeviceRules(t *testing.T) {
	var got []string
	for _, r := range defaultDeviceRules() {
		if !r.Allow {
			t.Errorf("rule %s is a deny rule", r.CgroupString())
		}
		got = append(got, r.CgroupString())
	}
	want := []string{
		"c *:* m", "b *:* m",
		"c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm",
		"c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %q\nwant %q", got, want)
	}
	// Each call returns fresh rules: callers (and the library) may mutate them.
	a, b := defaultDeviceRules(), defaultDeviceRules()
	a[0].Major = 99
	if b[0].Major == 99 {
		t.Error("defaultDeviceRules shares its rules between calls")
	}
}

func TestNewErrors(t *testing.T) {
	spec := func(path string, r *specs.LinuxResources) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{CgroupsPath: path, Resources: r}}
	}
	tests := []struct {
		name    string
		id      string
		spec    *specs.Spec
		opts    Options
		v2      bool
		wantErr string
		wantIs  error
	}{
		{name: "systemd driver", id: "c1", spec: spec("", nil), opts: Options{Systemd: true}, wantIs: ErrSystemdUnsupported, wantErr: "systemd cgroup driver is not supported"},
		{name: "nil spec", id: "c1", spec: nil, wantErr: "no spec"},
		{name: "no id and no path", id: "", spec: spec("", nil), wantErr: "empty container id"},
		{name: "unified on v1", id: "c1", spec: spec("/berth/c1", &specs.LinuxResources{Unified: map[string]string{"pids.max": "5"}}), wantErr: "container c1: cgroup resources: unified"},
		{name: "bad limit", id: "c1", spec: spec("/berth/c1", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-9)}}), wantErr: "limit -9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newManager(tt.id, tt.spec, tt.opts, tt.v2, "")
			if err == nil {
				t.Fatalf("New succeeded (%v), want error %q", m.Paths(), tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}

// The path rules, checked on whatever this host is: an absolute cgroupsPath
// lands under each hierarchy's root, an empty one becomes "<id>" under the
// runtime's own cgroup (runc's rule). Nothing is created.
func TestNewPaths(t *testing.T) {
	if IsV2() {
		t.Skip("the v1 path layout is checked on v1 hosts; v2 paths are covered by the fake-tree tests")
	}
	m, err := New("ctr", &specs.Spec{Linux: &specs.Linux{CgroupsPath: "/berth-test/../berth-test/abs"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	paths := m.Paths()
	mem, ok := paths["memory"]
	if !ok {
		t.Skip("no v1 memory hierarchy")
	}
	if want := "/sys/fs/cgroup/memory/berth-test/abs"; mem != want {
		t.Errorf("memory path = %q, want %q", mem, want)
	}
	for sub, p := range paths {
		if !strings.HasSuffix(p, "/berth-test/abs") {
			t.Errorf("%s path %q does not end in the cgroupsPath", sub, p)
		}
		if !strings.HasPrefix(p, "/sys/fs/cgroup/") {
			t.Errorf("%s path %q is outside /sys/fs/cgroup", sub, p)
		}
	}

	m, err = New("ctr-id", &specs.Spec{Linux: &specs.Linux{}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	own, err := cgroups.GetOwnCgroupPath("memory")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Paths()["memory"], filepath.Join(own, "ctr-id"); got != want {
		t.Errorf("default memory path = %q, want %q (own cgroup + id)", got, want)
	}
}

func TestMergeLimits(t *testing.T) {
	cur, err := convertSpec(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](100 << 20), Swap: ptr[int64](200 << 20)},
		CPU:    &specs.LinuxCPU{Shares: ptr[uint64](512), Cpus: "0"},
		Pids:   &specs.LinuxPids{Limit: ptr[int64](10)},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	nDev := len(cur.Devices)
	upd, err := convertLimits(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](150 << 20)},
		Pids:   &specs.LinuxPids{Limit: ptr[int64](20)},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	mergeLimits(cur, upd)
	if cur.Memory != 150<<20 || cur.MemorySwap != 200<<20 {
		t.Errorf("memory/swap = %d/%d, want the new limit and the old swap", cur.Memory, cur.MemorySwap)
	}
	if cur.CpuShares != 512 || cur.CpusetCpus != "0" || *cur.PidsLimit != 20 {
		t.Errorf("shares/cpus/pids = %d/%q/%d", cur.CpuShares, cur.CpusetCpus, *cur.PidsLimit)
	}
	if len(cur.Devices) != nDev {
		t.Errorf("device rules changed: %d -> %d", nDev, len(cur.Devices))
	}
}

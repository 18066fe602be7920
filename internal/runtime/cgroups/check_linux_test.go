package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// allV1 are the hierarchies of a v1 host that has every controller.
var allV1 = map[string]string{
	"cpu": "/x", "cpuacct": "/x", "cpuset": "/x", "memory": "/x", "devices": "/x", "freezer": "/x",
	"blkio": "/x", "pids": "/x", "hugetlb": "/x", "net_cls": "/x", "net_prio": "/x", "rdma": "/x",
}

func without(paths map[string]string, drop ...string) map[string]string {
	out := map[string]string{}
	for k, v := range paths {
		out[k] = v
	}
	for _, d := range drop {
		delete(out, d)
	}
	return out
}

func TestCheckV1Controllers(t *testing.T) {
	tests := []struct {
		name      string
		r         *specs.LinuxResources
		paths     map[string]string
		wantField string // "" means no error
	}{
		{name: "nothing asked, nothing needed", r: nil, paths: map[string]string{"devices": "/x"}},
		{name: "all mounted", r: &specs.LinuxResources{
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}},
			Network:        &specs.LinuxNetwork{ClassID: ptr[uint32](1), Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}},
			Memory:         &specs.LinuxMemory{Limit: ptr[int64](1 << 20)},
		}, paths: allV1},
		{name: "hugetlb not mounted", r: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}},
			paths: without(allV1, "hugetlb"), wantField: "hugepageLimits: "},
		{name: "net_cls not mounted", r: &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptr[uint32](255)}},
			paths: without(allV1, "net_cls", "net_prio"), wantField: "network.classID: "},
		{name: "net_prio not mounted", r: &specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 10}}}},
			paths: without(allV1, "net_prio"), wantField: "network.priorities: "},
		{name: "kernelTCP alone needs memory", r: &specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: ptr[int64](1 << 20)}},
			paths: without(allV1, "memory"), wantField: "memory: "},
		{name: "pids not mounted", r: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](0)}},
			paths: without(allV1, "pids"), wantField: "pids: "},
		{name: "cpuset not mounted", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
			paths: without(allV1, "cpuset"), wantField: "cpu.cpus/cpu.mems: "},
		{name: "blkio not mounted", r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](100)}},
			paths: without(allV1, "blkio"), wantField: "blockIO: "},
		{name: "an empty network object needs nothing", r: &specs.LinuxResources{Network: &specs.LinuxNetwork{}},
			paths: without(allV1, "net_cls", "net_prio")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := convertLimits(tt.r, false)
			if err != nil {
				t.Fatal(err)
			}
			var memory *specs.LinuxMemory
			if tt.r != nil {
				memory = tt.r.Memory
			}
			tcp, err := convertKernelTCP(memory, false)
			if err != nil {
				t.Fatal(err)
			}
			err = checkV1Controllers(res, tcp, tt.paths)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrHostUnsupported) || !strings.HasPrefix(err.Error(), tt.wantField) {
				t.Errorf("err = %q, want ErrHostUnsupported starting with %q", err, tt.wantField)
			}
		})
	}
}

// New refuses, before anything exists, a limit for a controller this host
// has not mounted: the error names the spec field (runc's says only "cannot
// set hugetlb limit: container could not join or create cgroup").
func TestNewMissingController(t *testing.T) {
	if IsV2() {
		t.Skip("v1 host check")
	}
	for sub, r := range map[string]*specs.LinuxResources{
		"hugetlb": {HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 30}}},
		"net_cls": {Network: &specs.LinuxNetwork{ClassID: ptr[uint32](255)}},
	} {
		t.Run(sub, func(t *testing.T) {
			m, err := New("c1", &specs.Spec{Linux: &specs.Linux{CgroupsPath: "/berth-test-nomount", Resources: r}}, Options{})
			if err == nil {
				if _, ok := m.Paths()[sub]; ok {
					t.Skipf("%s is mounted here", sub)
				}
				t.Fatalf("New succeeded without a %s hierarchy", sub)
			}
			if !errors.Is(err, ErrHostUnsupported) || !strings.Contains(err.Error(), sub) {
				t.Errorf("err = %v, want ErrHostUnsupported naming %s", err, sub)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func TestCheckHost(t *testing.T) {
	sysfs := fakeSysfs(t, []string{"8:0", "8:1p"}, []string{"2048", "1048576"})
	throttle := func(major, minor int64) []specs.LinuxThrottleDevice {
		return []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: major, Minor: minor}, Rate: 1}}
	}
	tests := []struct {
		name    string
		r       *specs.LinuxResources
		sysfs   string
		wantErr string // substring; "" means success
	}{
		{name: "known page sizes", r: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "1GB"}}}},
		{name: "page size the kernel lacks", r: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "3MB"}}},
			wantErr: "hugepageLimits[1]: not supported on this host: page size 3MB is not one of this kernel's (1GB, 2MB)"},
		{name: "kernel without huge pages", r: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}}},
			sysfs: fakeSysfs(t, nil, nil), wantErr: "hugepageLimits: not supported on this host: this kernel has no huge pages"},
		{name: "whole disk", r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: throttle(8, 0)}}},
		{name: "missing disk", r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleWriteIOPSDevice: throttle(8, 16)}},
			wantErr: "blockIO.throttleWriteIOPSDevice[0]: not supported on this host: no block device 8:16"},
		{name: "partition", r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadIOPSDevice: throttle(8, 1)}},
			wantErr: "blockIO.throttleReadIOPSDevice[0]: not supported on this host: block device 8:1 is a partition"},
		{name: "weight device", r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 253, Minor: 0}, Weight: ptr[uint16](100)}}}},
			wantErr: "blockIO.weightDevice[0]: not supported on this host: no block device 253:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := convertLimits(tt.r, false)
			if err != nil {
				t.Fatal(err)
			}
			dir := sysfs
			if tt.sysfs != "" {
				dir = tt.sysfs
			}
			err = checkHost(res, dir)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrHostUnsupported) {
				t.Errorf("err = %v, want ErrHostUnsupported containing %q", err, tt.wantErr)
			}
		})
	}
	// No sysfs: nothing is checked.
	res, _ := convertLimits(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: throttle(1, 1)}}, false)
	if err := checkHost(res, ""); err != nil {
		t.Errorf("checkHost without sysfs: %v", err)
	}
}

// The kernel names huge page sizes in its hugetlb files as the spec does.
func TestHugePageSizes(t *testing.T) {
	for kb, want := range map[uint64]string{64: "64KB", 512: "512KB", 2048: "2MB", 32768: "32MB", 524288: "512MB", 1048576: "1GB", 16777216: "16GB"} {
		if got := pageSizeName(kb); got != want {
			t.Errorf("pageSizeName(%d) = %q, want %q", kb, got, want)
		}
	}
	dir := filepath.Join(fakeSysfs(t, nil, []string{"2048", "1048576", "64"}), "kernel/mm/hugepages")
	if err := os.WriteFile(filepath.Join(dir, "stray"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := hugePageSizes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1GB", "2MB", "64KB"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hugePageSizes = %q, want %q", got, want)
	}
}

func TestCheckV1Blkio(t *testing.T) {
	dirWith := func(files ...string) string {
		dir := t.TempDir()
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	throttleOnly := &cgroups.Resources{BlkioThrottleReadBpsDevice: []*cgroups.ThrottleDevice{cgroups.NewThrottleDevice(8, 0, 1)}}
	weight := &cgroups.Resources{BlkioWeight: 500}
	weightDevice := &cgroups.Resources{BlkioWeightDevice: []*cgroups.WeightDevice{cgroups.NewWeightDevice(8, 0, 500, 0)}}
	leaf := &cgroups.Resources{BlkioLeafWeight: 300}
	leafDevice := &cgroups.Resources{BlkioWeightDevice: []*cgroups.WeightDevice{cgroups.NewWeightDevice(8, 0, 0, 300)}}
	noWeights := dirWith("blkio.throttle.read_bps_device") // mq-deadline, kyber, none
	bfq := dirWith("blkio.bfq.weight", "blkio.bfq.weight_device")
	cfq := dirWith("blkio.weight", "blkio.weight_device", "blkio.leaf_weight", "blkio.leaf_weight_device")
	tests := []struct {
		name    string
		r       *cgroups.Resources
		dir     string
		wantErr string
	}{
		{name: "throttles need no weight", r: throttleOnly, dir: noWeights},
		{name: "weight without a scheduler that has one", r: weight, dir: noWeights, wantErr: "blockIO.weight/weightDevice: not supported on this host: blkio has no proportional weight"},
		{name: "weight device without a scheduler that has one", r: weightDevice, dir: noWeights, wantErr: "neither blkio.weight nor blkio.bfq.weight exists"},
		{name: "weight with BFQ", r: weight, dir: bfq},
		{name: "weight with CFQ", r: weight, dir: cfq},
		{name: "leaf weight with BFQ", r: leaf, dir: bfq, wantErr: "blockIO.leafWeight: not supported on this host: blkio.leaf_weight does not exist"},
		{name: "leaf weight device with BFQ", r: leafDevice, dir: bfq, wantErr: "blockIO.leafWeight"},
		{name: "leaf weight with CFQ", r: leaf, dir: cfq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkV1Blkio(tt.r, tt.dir)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrHostUnsupported) {
				t.Errorf("err = %v, want ErrHostUnsupported containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConvertKernelTCP(t *testing.T) {
	tests := []struct {
		name    string
		m       *specs.LinuxMemory
		v2      bool
		want    int64
		wantErr string
	}{
		{name: "unset", m: &specs.LinuxMemory{Limit: ptr[int64](1)}},
		{name: "nil memory"},
		{name: "v1 limit", m: &specs.LinuxMemory{KernelTCP: ptr[int64](50593792)}, want: 50593792},
		{name: "v1 unlimited", m: &specs.LinuxMemory{KernelTCP: ptr[int64](-1)}, want: -1},
		{name: "v2 ignores it", m: &specs.LinuxMemory{KernelTCP: ptr[int64](50593792)}, v2: true},
		{name: "negative", m: &specs.LinuxMemory{KernelTCP: ptr[int64](-5)}, wantErr: "memory: kernelTCP -5 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := convertKernelTCP(tt.m, tt.v2)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("convertKernelTCP = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

package cgroups

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"

	"github.com/opencontainers/cgroups"
	devconfig "github.com/opencontainers/cgroups/devices/config"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultDeviceRules are allowed in every container after the spec's own
// rules, as runc does (its AllowedDevices): a spec that starts with "deny all"
// still gets a usable /dev. runc 1.1 and >= 1.2.4 include tun/tap; so do we.
// Users cannot revoke these with spec rules, again as in runc.
func defaultDeviceRules() []*devconfig.Rule {
	const c, b, wild = devconfig.CharDevice, devconfig.BlockDevice, devconfig.Wildcard
	rule := func(t devconfig.Type, major, minor int64, perms devconfig.Permissions) *devconfig.Rule {
		return &devconfig.Rule{Type: t, Major: major, Minor: minor, Permissions: perms, Allow: true}
	}
	return []*devconfig.Rule{
		rule(c, wild, wild, "m"),  // mknod of any char device (using it is still denied)
		rule(b, wild, wild, "m"),  // mknod of any block device
		rule(c, 1, 3, "rwm"),      // /dev/null
		rule(c, 1, 8, "rwm"),      // /dev/random
		rule(c, 1, 7, "rwm"),      // /dev/full
		rule(c, 5, 0, "rwm"),      // /dev/tty
		rule(c, 1, 5, "rwm"),      // /dev/zero
		rule(c, 1, 9, "rwm"),      // /dev/urandom
		rule(c, 136, wild, "rwm"), // /dev/pts/*
		rule(c, 5, 2, "rwm"),      // /dev/ptmx
		rule(c, 10, 200, "rwm"),   // /dev/net/tun
	}
}

// Kernel limits worth checking before the kernel does, because its answer
// (EINVAL, or silent clamping) says less than we can.
const (
	minCPUShares  = 2
	maxCPUShares  = 262144
	minCFSQuotaUs = 1000    // kernel: quota must be at least 1ms
	minCFSPeriod  = 1000    // 1ms
	maxCFSPeriod  = 1000000 // 1s
	minBlkWeight  = 10
	maxBlkWeight  = 1000
)

// Compiled on first use, not at package init: every berth-runtime command
// is a new process, most never need them, and compiling costs ~0.05 ms each.
var (
	// cpuset lists: "0-3,5", "0". Checked so a stray newline or word cannot
	// reach the kernel file.
	cpusetRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`) })
	// hugetlb page sizes as the spec writes them: "2MB", "1GB", "64KB".
	pagesizeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+[KMGTPE]?B$`) })
)

// convertSpec turns spec.Linux.Resources into the library's Resources for a
// new container: the spec's device rules followed by defaultDeviceRules.
// v2 selects cgroup v2 semantics (unified allowed, cpu.weight derived from
// shares). A nil r yields no limits and only the default device rules.
func convertSpec(r *specs.LinuxResources, v2 bool) (*cgroups.Resources, error) {
	res, err := convertLimits(r, v2)
	if err != nil {
		return nil, err
	}
	if r != nil {
		res.Devices, err = convertDeviceRules(r.Devices)
		if err != nil {
			return nil, err
		}
	}
	res.Devices = append(res.Devices, defaultDeviceRules()...)
	return res, nil
}

// convertLimits converts everything but the device rules. Values the spec
// leaves unset stay at the library's "unset" zero value, which it does not
// write.
func convertLimits(r *specs.LinuxResources, v2 bool) (*cgroups.Resources, error) {
	res := &cgroups.Resources{}
	if r == nil {
		return res, nil
	}
	if err := convertMemory(r.Memory, res); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	if err := convertCPU(r.CPU, res); err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		// The spec: -1 is "max", 0 is a real limit. Any other negative is
		// taken as -1, as runc does. The library writes 0 as "1" (systemd
		// cannot express 0), which forbids forking just the same.
		limit := max(*r.Pids.Limit, -1)
		res.PidsLimit = &limit
	}
	if err := convertBlockIO(r.BlockIO, res); err != nil {
		return nil, fmt.Errorf("blockIO: %w", err)
	}
	for i, l := range r.HugepageLimits {
		if !pagesizeRE().MatchString(l.Pagesize) {
			return nil, fmt.Errorf("hugepageLimits[%d]: invalid page size %q (want e.g. 2MB)", i, l.Pagesize)
		}
		res.HugetlbLimit = append(res.HugetlbLimit, &cgroups.HugepageLimit{Pagesize: l.Pagesize, Limit: l.Limit})
	}
	if n := r.Network; n != nil {
		if n.ClassID != nil {
			res.NetClsClassid = *n.ClassID
		}
		for i, p := range n.Priorities {
			if p.Name == "" || strings.ContainsAny(p.Name, " \n/") {
				return nil, fmt.Errorf("network.priorities[%d]: invalid interface name %q", i, p.Name)
			}
			res.NetPrioIfpriomap = append(res.NetPrioIfpriomap, &cgroups.IfPrioMap{Interface: p.Name, Priority: int64(p.Priority)})
		}
	}
	if len(r.Rdma) > 0 {
		res.Rdma = make(map[string]cgroups.LinuxRdma, len(r.Rdma))
		for dev, l := range r.Rdma {
			if dev == "" || strings.ContainsAny(dev, " \n") {
				return nil, fmt.Errorf("rdma: invalid device name %q", dev)
			}
			res.Rdma[dev] = cgroups.LinuxRdma{HcaHandles: l.HcaHandles, HcaObjects: l.HcaObjects}
		}
	}
	if len(r.Unified) > 0 {
		if !v2 {
			return nil, errors.New("unified: cgroup v2 resources given, but this host uses cgroup v1")
		}
		res.Unified = make(map[string]string, len(r.Unified))
		for k, v := range r.Unified {
			ctrl, param, ok := strings.Cut(k, ".")
			if !ok || ctrl == "" || param == "" || strings.Contains(k, "/") {
				return nil, fmt.Errorf("unified: key %q is not of the form CONTROLLER.PARAMETER", k)
			}
			res.Unified[k] = v
		}
	}
	return res, nil
}

// checkLimit accepts -1 ("unlimited"), 0 ("unset") and positive values.
func checkLimit(name string, v int64) error {
	if v < -1 {
		return fmt.Errorf("%s %d is negative (only -1, meaning unlimited, is allowed)", name, v)
	}
	return nil
}

func convertMemory(m *specs.LinuxMemory, res *cgroups.Resources) error {
	if m == nil {
		return nil
	}
	if m.Limit != nil {
		if err := checkLimit("limit", *m.Limit); err != nil {
			return err
		}
		res.Memory = *m.Limit
	}
	if m.Reservation != nil {
		if err := checkLimit("reservation", *m.Reservation); err != nil {
			return err
		}
		res.MemoryReservation = *m.Reservation
	}
	if m.Swap != nil {
		if err := checkLimit("swap", *m.Swap); err != nil {
			return err
		}
		res.MemorySwap = *m.Swap
	}
	if res.Memory > 0 && res.MemorySwap > 0 && res.MemorySwap < res.Memory {
		return fmt.Errorf("swap %d (memory+swap) is below limit %d", res.MemorySwap, res.Memory)
	}
	// m.Kernel is ignored, as runc does: the kernel deprecated
	// memory.kmem.limit_in_bytes in 5.4 and current kernels no longer
	// enforce it (6.18 takes any write and the file keeps reading
	// "unlimited"); cgroup v2 never had it. m.KernelTCP is not a Resources
	// field of the library; see convertKernelTCP.
	if m.Swappiness != nil {
		// Docker sends -1 (as uint64) for "not set".
		if s := *m.Swappiness; s != math.MaxUint64 {
			if s > 100 {
				return fmt.Errorf("swappiness %d is out of range 0-100", s)
			}
			res.MemorySwappiness = &s
		}
	}
	if m.DisableOOMKiller != nil {
		res.OomKillDisable = *m.DisableOOMKiller
	}
	// m.UseHierarchy is ignored: memory.use_hierarchy is always 1 on current
	// kernels (writing 0 fails), and v2 is hierarchical by design.
	if m.CheckBeforeUpdate != nil {
		res.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
	}
	return nil
}

// convertKernelTCP returns the v1 memory.kmem.tcp.limit_in_bytes the spec
// asks for (0: unset, -1: unlimited). Unlike the general kernel memory limit,
// the TCP buffer limit still works on cgroup v1 (mm/memcontrol-v1.c), so it is
// written, by the Manager itself since the library dropped it. cgroup v2 has
// no such limit (socket buffers are charged to memory.max): there it is
// ignored, as runc does.
func convertKernelTCP(m *specs.LinuxMemory, v2 bool) (int64, error) {
	if v2 || m == nil || m.KernelTCP == nil {
		return 0, nil
	}
	if err := checkLimit("kernelTCP", *m.KernelTCP); err != nil {
		return 0, fmt.Errorf("memory: %w", err)
	}
	return *m.KernelTCP, nil
}

func convertCPU(c *specs.LinuxCPU, res *cgroups.Resources) error {
	if c == nil {
		return nil
	}
	if c.Shares != nil && *c.Shares != 0 {
		s := *c.Shares
		if s < minCPUShares || s > maxCPUShares {
			return fmt.Errorf("shares %d is out of range %d-%d", s, minCPUShares, maxCPUShares)
		}
		res.CpuShares = s
		// v2 has cpu.weight instead; the v1 driver ignores this field.
		res.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(s)
	}
	if c.Quota != nil {
		q := *c.Quota
		if err := checkLimit("quota", q); err != nil {
			return err
		}
		if q > 0 && q < minCFSQuotaUs {
			return fmt.Errorf("quota %dus is below the kernel minimum of %dus", q, minCFSQuotaUs)
		}
		res.CpuQuota = q
	}
	if c.Period != nil && *c.Period != 0 {
		p := *c.Period
		if p < minCFSPeriod || p > maxCFSPeriod {
			return fmt.Errorf("period %dus is out of range %d-%dus", p, minCFSPeriod, maxCFSPeriod)
		}
		res.CpuPeriod = p
	}
	if c.Burst != nil {
		b := *c.Burst
		res.CpuBurst = &b
	}
	if c.RealtimeRuntime != nil {
		if err := checkLimit("realtimeRuntime", *c.RealtimeRuntime); err != nil {
			return err
		}
		res.CpuRtRuntime = *c.RealtimeRuntime
	}
	if c.RealtimePeriod != nil {
		res.CpuRtPeriod = *c.RealtimePeriod
	}
	if c.Cpus != "" {
		if !cpusetRE().MatchString(c.Cpus) {
			return fmt.Errorf("cpus %q is not a CPU list like 0-3,5", c.Cpus)
		}
		res.CpusetCpus = c.Cpus
	}
	if c.Mems != "" {
		if !cpusetRE().MatchString(c.Mems) {
			return fmt.Errorf("mems %q is not a node list like 0-1", c.Mems)
		}
		res.CpusetMems = c.Mems
	}
	if c.Idle != nil {
		if i := *c.Idle; i != 0 && i != 1 {
			return fmt.Errorf("idle %d must be 0 or 1", i)
		}
		idle := *c.Idle
		res.CPUIdle = &idle
	}
	return nil
}

func checkWeight(name string, w *uint16) (uint16, error) {
	if w == nil || *w == 0 {
		return 0, nil
	}
	if *w < minBlkWeight || *w > maxBlkWeight {
		return 0, fmt.Errorf("%s %d is out of range %d-%d", name, *w, minBlkWeight, maxBlkWeight)
	}
	return *w, nil
}

func checkBlockDevice(name string, d specs.LinuxBlockIODevice) error {
	if d.Major < 0 || d.Minor < 0 {
		return fmt.Errorf("%s: device %d:%d has a negative number", name, d.Major, d.Minor)
	}
	return nil
}

func convertBlockIO(b *specs.LinuxBlockIO, res *cgroups.Resources) error {
	if b == nil {
		return nil
	}
	var err error
	if res.BlkioWeight, err = checkWeight("weight", b.Weight); err != nil {
		return err
	}
	if res.BlkioLeafWeight, err = checkWeight("leafWeight", b.LeafWeight); err != nil {
		return err
	}
	for i, wd := range b.WeightDevice {
		name := fmt.Sprintf("weightDevice[%d]", i)
		if err := checkBlockDevice(name, wd.LinuxBlockIODevice); err != nil {
			return err
		}
		w, err := checkWeight(name+".weight", wd.Weight)
		if err != nil {
			return err
		}
		lw, err := checkWeight(name+".leafWeight", wd.LeafWeight)
		if err != nil {
			return err
		}
		res.BlkioWeightDevice = append(res.BlkioWeightDevice, cgroups.NewWeightDevice(wd.Major, wd.Minor, w, lw))
	}
	throttle := func(name string, in []specs.LinuxThrottleDevice) ([]*cgroups.ThrottleDevice, error) {
		var out []*cgroups.ThrottleDevice
		for i, td := range in {
			if err := checkBlockDevice(fmt.Sprintf("%s[%d]", name, i), td.LinuxBlockIODevice); err != nil {
				return nil, err
			}
			out = append(out, cgroups.NewThrottleDevice(td.Major, td.Minor, td.Rate))
		}
		return out, nil
	}
	if res.BlkioThrottleReadBpsDevice, err = throttle("throttleReadBpsDevice", b.ThrottleReadBpsDevice); err != nil {
		return err
	}
	if res.BlkioThrottleWriteBpsDevice, err = throttle("throttleWriteBpsDevice", b.ThrottleWriteBpsDevice); err != nil {
		return err
	}
	if res.BlkioThrottleReadIOPSDevice, err = throttle("throttleReadIOPSDevice", b.ThrottleReadIOPSDevice); err != nil {
		return err
	}
	if res.BlkioThrottleWriteIOPSDevice, err = throttle("throttleWriteIOPSDevice", b.ThrottleWriteIOPSDevice); err != nil {
		return err
	}
	return nil
}

// convertDeviceRules converts spec device cgroup rules. An empty type means
// all devices ("a"), a missing major or minor means any (*).
func convertDeviceRules(in []specs.LinuxDeviceCgroup) ([]*devconfig.Rule, error) {
	var out []*devconfig.Rule
	for i, d := range in {
		rule := &devconfig.Rule{
			Type:        devconfig.WildcardDevice,
			Major:       devconfig.Wildcard,
			Minor:       devconfig.Wildcard,
			Permissions: devconfig.Permissions(d.Access),
			Allow:       d.Allow,
		}
		switch d.Type {
		case "", "a":
		case "c":
			rule.Type = devconfig.CharDevice
		case "b":
			rule.Type = devconfig.BlockDevice
		default:
			return nil, fmt.Errorf("devices[%d]: unknown device type %q (want a, b or c)", i, d.Type)
		}
		if d.Major != nil {
			if *d.Major < devconfig.Wildcard {
				return nil, fmt.Errorf("devices[%d]: invalid major %d", i, *d.Major)
			}
			rule.Major = *d.Major
		}
		if d.Minor != nil {
			if *d.Minor < devconfig.Wildcard {
				return nil, fmt.Errorf("devices[%d]: invalid minor %d", i, *d.Minor)
			}
			rule.Minor = *d.Minor
		}
		if d.Access == "" || !rule.Permissions.IsValid() {
			return nil, fmt.Errorf("devices[%d]: invalid access %q (want a combination of r, w, m)", i, d.Access)
		}
		out = append(out, rule)
	}
	return out, nil
}

// mergeLimits writes every limit that upd sets over cur, for `update`. The
// library treats zero values as "leave alone", so "set" means non-zero (or a
// non-nil pointer). Device rules are never merged: `update` cannot change
// them, as in runc.
func mergeLimits(cur, upd *cgroups.Resources) {
	setI := func(dst *int64, v int64) {
		if v != 0 {
			*dst = v
		}
	}
	setU := func(dst *uint64, v uint64) {
		if v != 0 {
			*dst = v
		}
	}
	setI(&cur.Memory, upd.Memory)
	setI(&cur.MemoryReservation, upd.MemoryReservation)
	setI(&cur.MemorySwap, upd.MemorySwap)
	if upd.MemorySwappiness != nil {
		cur.MemorySwappiness = upd.MemorySwappiness
	}
	if upd.OomKillDisable {
		cur.OomKillDisable = true
	}
	cur.MemoryCheckBeforeUpdate = upd.MemoryCheckBeforeUpdate
	setU(&cur.CpuShares, upd.CpuShares)
	setU(&cur.CpuWeight, upd.CpuWeight)
	setI(&cur.CpuQuota, upd.CpuQuota)
	setU(&cur.CpuPeriod, upd.CpuPeriod)
	if upd.CpuBurst != nil {
		cur.CpuBurst = upd.CpuBurst
	}
	setI(&cur.CpuRtRuntime, upd.CpuRtRuntime)
	setU(&cur.CpuRtPeriod, upd.CpuRtPeriod)
	if upd.CpusetCpus != "" {
		cur.CpusetCpus = upd.CpusetCpus
	}
	if upd.CpusetMems != "" {
		cur.CpusetMems = upd.CpusetMems
	}
	if upd.CPUIdle != nil {
		cur.CPUIdle = upd.CPUIdle
	}
	if upd.PidsLimit != nil {
		cur.PidsLimit = upd.PidsLimit
	}
	if upd.BlkioWeight != 0 {
		cur.BlkioWeight = upd.BlkioWeight
	}
	if upd.BlkioLeafWeight != 0 {
		cur.BlkioLeafWeight = upd.BlkioLeafWeight
	}
	if upd.BlkioWeightDevice != nil {
		cur.BlkioWeightDevice = upd.BlkioWeightDevice
	}
	if upd.BlkioThrottleReadBpsDevice != nil {
		cur.BlkioThrottleReadBpsDevice = upd.BlkioThrottleReadBpsDevice
	}
	if upd.BlkioThrottleWriteBpsDevice != nil {
		cur.BlkioThrottleWriteBpsDevice = upd.BlkioThrottleWriteBpsDevice
	}
	if upd.BlkioThrottleReadIOPSDevice != nil {
		cur.BlkioThrottleReadIOPSDevice = upd.BlkioThrottleReadIOPSDevice
	}
	if upd.BlkioThrottleWriteIOPSDevice != nil {
		cur.BlkioThrottleWriteIOPSDevice = upd.BlkioThrottleWriteIOPSDevice
	}
	if upd.HugetlbLimit != nil {
		cur.HugetlbLimit = upd.HugetlbLimit
	}
	if upd.NetClsClassid != 0 {
		cur.NetClsClassid = upd.NetClsClassid
	}
	if upd.NetPrioIfpriomap != nil {
		cur.NetPrioIfpriomap = upd.NetPrioIfpriomap
	}
	for k, v := range upd.Rdma {
		if cur.Rdma == nil {
			cur.Rdma = map[string]cgroups.LinuxRdma{}
		}
		cur.Rdma[k] = v
	}
	for k, v := range upd.Unified {
		if cur.Unified == nil {
			cur.Unified = map[string]string{}
		}
		cur.Unified[k] = v
	}
}

package cgroups

import "errors"

// ErrSystemdUnsupported is returned by New when Options.Systemd is set
// (`--systemd-cgroup`): berth-runtime drives cgroupfs directly.
var ErrSystemdUnsupported = errors.New("systemd cgroup driver is not supported")

// ErrHostUnsupported is wrapped by the errors of New, Create and Update for a
// limit this host cannot enforce: its controller has no hierarchy (e.g. no
// hugetlb, net_cls or net_prio mount), the kernel has no such huge page size
// or block device, or the knob is missing (blkio weights without the BFQ
// scheduler). The runtime spec leaves no choice ("Runtimes MUST generate an
// error when invalid or unsupported values are encountered"), and runc 1.1
// refuses the same configurations. A caller that prefers docker's behaviour,
// dropping such a limit with a warning, must do so before it writes the spec.
var ErrHostUnsupported = errors.New("not supported on this host")

// Options are the runtime-wide settings that affect how a container's cgroup
// is managed.
type Options struct {
	// Systemd selects the systemd cgroup driver; New refuses it with
	// ErrSystemdUnsupported.
	Systemd bool
	// Rootless is passed to the cgroupfs drivers: permission errors while
	// creating a cgroup without an explicit cgroupsPath are tolerated, as
	// runc does for rootless containers.
	Rootless bool
	// LayoutCache, when set, is a file where New keeps where each v1
	// hierarchy is mounted, so that later calls skip the discovery (~0.4 ms
	// of stat calls); it is keyed by the host's cgroup mounts and rebuilt
	// when they change. Only used for an absolute cgroupsPath on a v1 or
	// hybrid host.
	LayoutCache string
}

// Event is one record of `runc events`: {"type":"stats","id":..,"data":..}.
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Stats is the "data" of a stats Event. Field names and JSON tags follow
// runc's types/events.go, so tools that parse `runc events --stats` (e.g.
// containerd's go-runc) parse ours. runc's intel_rdt and network_interfaces
// members are not cgroup data and are left to the caller.
type Stats struct {
	CPU     CPU                `json:"cpu"`
	CPUSet  CPUSet             `json:"cpuset"`
	Memory  Memory             `json:"memory"`
	Pids    Pids               `json:"pids"`
	Blkio   Blkio              `json:"blkio"`
	Hugetlb map[string]Hugetlb `json:"hugetlb"`
}

// PSIData is one line of a cgroup v2 *.pressure file.
type PSIData struct {
	Avg10  float64 `json:"avg10"`
	Avg60  float64 `json:"avg60"`
	Avg300 float64 `json:"avg300"`
	Total  uint64  `json:"total"`
}

// PSIStats is a cgroup v2 *.pressure file (cpu, memory or io).
type PSIStats struct {
	Some PSIData `json:"some,omitempty"`
	Full PSIData `json:"full,omitempty"`
}

// Hugetlb is the usage of one huge page size.
type Hugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// BlkioEntry is one (device, operation) counter.
type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// Blkio holds block I/O counters (blkio on v1, io.stat on v2).
type Blkio struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
	IoQueuedRecursive       []BlkioEntry `json:"ioQueueRecursive,omitempty"`
	IoServiceTimeRecursive  []BlkioEntry `json:"ioServiceTimeRecursive,omitempty"`
	IoWaitTimeRecursive     []BlkioEntry `json:"ioWaitTimeRecursive,omitempty"`
	IoMergedRecursive       []BlkioEntry `json:"ioMergedRecursive,omitempty"`
	IoTimeRecursive         []BlkioEntry `json:"ioTimeRecursive,omitempty"`
	SectorsRecursive        []BlkioEntry `json:"sectorsRecursive,omitempty"`
	PSI                     *PSIStats    `json:"psi,omitempty"`
}

// Pids is the number of tasks and the pids.max limit (0 when unlimited).
type Pids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// Throttling reports CFS bandwidth throttling. The camelCase tags are runc's
// wire format.
type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// CPUUsage is accumulated CPU time in nanoseconds.
type CPUUsage struct {
	Total        uint64   `json:"total,omitempty"`
	Percpu       []uint64 `json:"percpu,omitempty"`
	PercpuKernel []uint64 `json:"percpu_kernel,omitempty"`
	PercpuUser   []uint64 `json:"percpu_user,omitempty"`
	Kernel       uint64   `json:"kernel"`
	User         uint64   `json:"user"`
}

// CPU holds CPU usage and throttling.
type CPU struct {
	Usage      CPUUsage   `json:"usage,omitempty"`
	Throttling Throttling `json:"throttling,omitempty"`
	PSI        *PSIStats  `json:"psi,omitempty"`
}

// CPUSet is the cpuset configuration seen by the cgroup (v1 only).
type CPUSet struct {
	CPUs                  []uint16 `json:"cpus,omitempty"`
	CPUExclusive          uint64   `json:"cpu_exclusive"`
	Mems                  []uint16 `json:"mems,omitempty"`
	MemHardwall           uint64   `json:"mem_hardwall"`
	MemExclusive          uint64   `json:"mem_exclusive"`
	MemoryMigrate         uint64   `json:"memory_migrate"`
	MemorySpreadPage      uint64   `json:"memory_spread_page"`
	MemorySpreadSlab      uint64   `json:"memory_spread_slab"`
	MemoryPressure        uint64   `json:"memory_pressure"`
	SchedLoadBalance      uint64   `json:"sched_load_balance"`
	SchedRelaxDomainLevel int64    `json:"sched_relax_domain_level"`
}

// MemoryEntry is one memory counter family (usage, swap, kmem, kmem.tcp).
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// Memory holds memory usage; Raw is memory.stat verbatim.
type Memory struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     MemoryEntry       `json:"usage,omitempty"`
	Swap      MemoryEntry       `json:"swap,omitempty"`
	Kernel    MemoryEntry       `json:"kernel,omitempty"`
	KernelTCP MemoryEntry       `json:"kernelTCP,omitempty"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
	PSI       *PSIStats         `json:"psi,omitempty"`
}

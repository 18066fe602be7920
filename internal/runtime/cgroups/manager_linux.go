package cgroups

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opencontainers/cgroups"
	// The devices package installs the v1 (devices.allow/deny) and v2 (eBPF)
	// device setters into the cgroups package when imported; without it the
	// fs and fs2 drivers refuse any device rule with ErrDevicesUnsupported.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// stateVersion is bumped when State changes incompatibly.
const stateVersion = 1

// State is what a runtime invocation saves (in the container's state.json) so
// that a later one can rebuild the Manager with Load.
type State struct {
	Version int `json:"version"`
	// V2 tells which driver made the cgroup: fs2 (unified) or fs (v1).
	V2 bool `json:"v2"`
	// Paths are the absolute cgroup directories: subsystem -> path on v1
	// (a hybrid host also has "" for the unified hierarchy, which runc joins
	// too), and {"": dir} on v2.
	Paths map[string]string `json:"paths"`
	// Config is the library's cgroup configuration, resources included, as
	// last applied; Update merges into it.
	Config *cgroups.Cgroup `json:"config"`
	// KernelTCP is the v1 memory.kmem.tcp.limit_in_bytes last written (0:
	// never set), which the library's Resources cannot carry.
	KernelTCP int64 `json:"kernelTCP,omitempty"`
}

// Manager manages the cgroup(s) of one container. It is safe for concurrent
// use. Construct it with New or Load.
type Manager struct {
	mu     sync.Mutex
	v2     bool
	config *cgroups.Cgroup
	paths  map[string]string
	mgr    cgroups.Manager
	// kernelTCP is spec memory.kernelTCP (v1 only; see convertKernelTCP).
	kernelTCP int64
	// sysfs is where Create and Update look up huge page sizes and block
	// devices (checkHost); "" skips those checks (fake-tree tests).
	sysfs string
	// createV2 makes the v2 cgroup directory (and enables controllers in its
	// ancestors). It is fs2.CreateCgroupPath, which only works under
	// /sys/fs/cgroup; tests against a fake tree replace it.
	createV2 func(dir string, c *cgroups.Cgroup) error
	// created are the directories CreateDirs made (SetLimits writes device
	// rules only there; Create removes them when SetLimits fails).
	created []string
}

// IsV2 reports whether the host runs the unified (cgroup v2 only) hierarchy.
// A hybrid host (v1 controllers plus an empty /sys/fs/cgroup/unified) is v1.
func IsV2() bool {
	return cgroups.IsCgroup2UnifiedMode()
}

// New builds a manager for container id from spec.Linux.CgroupsPath and
// spec.Linux.Resources. Nothing is created on disk until Apply.
//
// The cgroup path follows runc's cgroupfs driver:
//   - absolute cgroupsPath ("/berth/abc"): that path under the root of every
//     hierarchy, e.g. /sys/fs/cgroup/memory/berth/abc on v1;
//   - relative cgroupsPath ("foo/abc"): under the cgroup berth-runtime itself
//     runs in (on v2, that cgroup's parent, since the runtime's own cgroup
//     usually holds processes and so cannot enable controllers);
//   - empty: relative path "<id>", i.e. as above with the container id.
//
// berth's own containers are expected to carry an absolute "/berth/<id>"
// (DESIGN: berth's cgroups live under berth/); the empty rule places other
// bundles exactly where runc would.
//
// Bad resource values, unified resources on a v1 host, unknown device types
// and, on v1, limits for a controller this host has not mounted
// (ErrHostUnsupported) are reported here, before anything is touched.
func New(id string, spec *specs.Spec, opts Options) (*Manager, error) {
	return newManager(id, spec, opts, IsV2(), "")
}

// newManager is New with the cgroup version decided by the caller and, for
// v2, an optional explicit directory (tests point it into a fake tree).
func newManager(id string, spec *specs.Spec, opts Options, v2 bool, v2Dir string) (*Manager, error) {
	if opts.Systemd {
		return nil, fmt.Errorf("container %s: %w", id, ErrSystemdUnsupported)
	}
	if spec == nil {
		return nil, fmt.Errorf("container %s: cgroups: no spec", id)
	}
	var (
		cgPath string
		specR  *specs.LinuxResources
	)
	if spec.Linux != nil {
		cgPath = spec.Linux.CgroupsPath
		specR = spec.Linux.Resources
	}
	res, err := convertSpec(specR, v2)
	if err != nil {
		return nil, fmt.Errorf("container %s: cgroup resources: %w", id, err)
	}
	var kernelTCP int64
	if specR != nil {
		if kernelTCP, err = convertKernelTCP(specR.Memory, v2); err != nil {
			return nil, fmt.Errorf("container %s: cgroup resources: %w", id, err)
		}
	}
	cg := &cgroups.Cgroup{Resources: res, Rootless: opts.Rootless}
	if cgPath != "" {
		// The library cleans the path (no escaping the hierarchy with "..").
		cg.Path = cgPath
	} else {
		if id == "" {
			return nil, errors.New("cgroups: empty container id and no cgroupsPath")
		}
		cg.Name = id
	}

	m := &Manager{v2: v2, config: cg, kernelTCP: kernelTCP, sysfs: "/sys", createV2: fs2.CreateCgroupPath}
	lc := layoutCacheFor(opts, v2, cgPath)
	paths := lc.paths()
	if err := m.init(paths, v2Dir); err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	if paths == nil {
		lc.save(m.paths)
	}
	if !v2 {
		if err := checkV1Controllers(res, kernelTCP, m.paths); err != nil {
			return nil, fmt.Errorf("container %s: cgroup resources: %w", id, err)
		}
	}
	return m, nil
}

// init builds the library driver; paths (v1) or dir (v2) come from a saved
// State, or are computed from the config when empty.
func (m *Manager) init(paths map[string]string, dir string) error {
	if m.v2 {
		mgr, err := fs2.NewManager(m.config, dir)
		if err != nil {
			return fmt.Errorf("cgroup v2 manager: %w", err)
		}
		m.mgr = mgr
		m.paths = map[string]string{"": mgr.Path("")}
		return nil
	}
	mgr, err := fs.NewManager(m.config, paths)
	if err != nil {
		return fmt.Errorf("cgroup v1 manager: %w", err)
	}
	m.mgr = mgr
	m.paths = maps.Clone(mgr.GetPaths())
	return nil
}

// Load rebuilds a manager from a State returned by State earlier.
func Load(st State) (*Manager, error) {
	if st.Version != stateVersion {
		return nil, fmt.Errorf("cgroups: state version %d, want %d", st.Version, stateVersion)
	}
	if st.Config == nil || len(st.Paths) == 0 {
		return nil, errors.New("cgroups: state has no config or paths")
	}
	if st.Config.Resources == nil {
		st.Config.Resources = &cgroups.Resources{}
	}
	m := &Manager{v2: st.V2, config: st.Config, kernelTCP: st.KernelTCP, sysfs: "/sys", createV2: fs2.CreateCgroupPath}
	var err error
	if st.V2 {
		err = m.init(nil, st.Paths[""])
	} else {
		// fs.Manager prunes paths it removed; keep ours intact.
		err = m.init(maps.Clone(st.Paths), "")
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// State returns what Load needs to rebuild this manager.
func (m *Manager) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return State{Version: stateVersion, V2: m.v2, Paths: maps.Clone(m.paths), Config: m.config, KernelTCP: m.kernelTCP}
}

// Paths returns the cgroup directories: subsystem -> absolute path on v1,
// {"": dir} on v2.
func (m *Manager) Paths() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.paths)
}

// describe names the cgroup in errors: the v2 directory, or on v1 the path
// inside each hierarchy (the failing file's full path is in the wrapped
// error).
func (m *Manager) describe() string {
	if m.v2 {
		return m.paths[""]
	}
	if m.config.Path != "" {
		return m.config.Path
	}
	return m.config.Name
}

// Apply creates the cgroup(s), writes every resource limit and device rule,
// then moves pid in, so the process never runs unconstrained. Values the
// kernel refuses come back as errors naming the file and value. On failure,
// the directories Apply created are removed again.
func (m *Manager) Apply(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroup %s: apply: invalid pid %d", m.describe(), pid)
	}
	if err := m.Create(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mgr.AddPid("", pid); err != nil {
		return fmt.Errorf("cgroup %s: add pid %d: %w", m.describe(), pid, err)
	}
	return nil
}

// Create makes the cgroup directories and writes every limit, moving no
// process in. The container's first process then joins by itself (see
// SelfJoin) or through Add. On error the directories it made are removed.
//
// Limits that name something the host lacks (a huge page size, a block
// device, a blkio weight without BFQ) fail with ErrHostUnsupported. On v1,
// the device rules of a cgroup it creates are written in the spec's order
// (see writeV1DeviceRules).
func (m *Manager) Create() error {
	if err := m.CreateDirs(); err != nil {
		return err
	}
	if err := m.SetLimits(); err != nil {
		for _, dir := range m.created {
			_ = cgroups.RemovePath(dir)
		}
		return err
	}
	return nil
}

// CreateDirs is Create's first half: it checks the limits against the host
// and makes the directories (v1 cpusets seeded from their parent), which a
// process may join from then on. SetLimits is the second half; a process
// that joined in between is not yet limited, so nothing of the container's
// may run before SetLimits returns. On error the directories it made are
// removed.
func (m *Manager) CreateDirs() (retErr error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkHost(m.config.Resources, m.sysfs); err != nil {
		return fmt.Errorf("cgroup %s: %w", m.describe(), err)
	}
	var created []string
	if !m.v2 {
		var done bool
		if created, done = m.mkdirsV1(); done {
			m.created = created
			return nil
		}
	}
	created = append(created, m.missingDirs()...)
	defer func() {
		if retErr != nil {
			for _, dir := range created {
				_ = cgroups.RemovePath(dir)
			}
		}
	}()
	// A cpuset parent the driver is about to make is ours: it gets
	// clone_children, so the kernel seeds each new container's cpuset
	// from it (cpusetSeeded then only checks) instead of our writes.
	var newCpusetParent string
	if p := m.paths["cpuset"]; !m.v2 && p != "" && !m.config.Rootless {
		if _, err := os.Stat(filepath.Dir(p)); errors.Is(err, os.ErrNotExist) {
			newCpusetParent = filepath.Dir(p)
		}
	}
	defer func() {
		if retErr == nil && newCpusetParent != "" {
			_ = os.WriteFile(filepath.Join(newCpusetParent, "cgroup.clone_children"), []byte("1"), 0)
		}
	}()

	if m.v2 {
		dir := m.paths[""]
		if err := m.createV2(dir, m.config); err != nil {
			return fmt.Errorf("cgroup %s: create: %w", dir, err)
		}
	} else if err := m.mgr.Apply(-1); err != nil {
		// pid -1: create the directories (and seed cpuset.cpus/mems from the
		// parent) without moving anything in yet.
		if !errors.Is(err, cgroups.ErrRootless) {
			return fmt.Errorf("cgroup %s: create: %w", m.describe(), err)
		}
		// Rootless without a cgroupsPath: the driver dropped the
		// hierarchies it may not write to; carry on with the rest.
		m.paths = maps.Clone(m.mgr.GetPaths())
	}
	m.created = created
	return nil
}

// SetLimits writes every limit into the directories CreateDirs made; the
// caller removes them (Destroy) when it fails.
func (m *Manager) SetLimits() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	res := m.config.Resources
	if !m.v2 {
		if dir, ok := m.paths["blkio"]; ok {
			if err := checkV1Blkio(res, dir); err != nil {
				return fmt.Errorf("cgroup %s: %w", m.describe(), err)
			}
		}
		if dir, ok := m.paths["devices"]; ok && slices.Contains(m.created, dir) && !res.SkipDevices && !m.config.Rootless {
			writeV1DeviceRules(dir, res.Devices)
		}
	}
	if err := m.mgr.Set(res); err != nil {
		return fmt.Errorf("cgroup %s: set resources: %w", m.describe(), err)
	}
	if err := m.writeKernelTCP(m.kernelTCP); err != nil {
		return fmt.Errorf("cgroup %s: set resources: %w", m.describe(), err)
	}
	return nil
}

// kmemTCPLimit is the v1 limit of a cgroup's TCP socket buffers.
const kmemTCPLimit = "memory.kmem.tcp.limit_in_bytes"

// writeKernelTCP writes the v1 TCP buffer limit v (0: leave alone). The
// first write to it also turns on TCP buffer accounting for the cgroup.
func (m *Manager) writeKernelTCP(v int64) error {
	if m.v2 || v == 0 {
		return nil
	}
	dir, ok := m.paths["memory"]
	if !ok {
		return fmt.Errorf("memory.kernelTCP: %w: the memory controller has no cgroup v1 hierarchy", ErrHostUnsupported)
	}
	err := cgroups.WriteFile(dir, kmemTCPLimit, strconv.FormatInt(v, 10))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("memory.kernelTCP: %w: %s does not exist (kernel without v1 kernel memory accounting)", ErrHostUnsupported, kmemTCPLimit)
	}
	if err != nil {
		return fmt.Errorf("memory.kernelTCP: %s: %w", kmemTCPLimit, err)
	}
	return nil
}

// SelfJoin says how a single-threaded process moves itself into the
// container's cgroups, which the init's C stage does before it forks:
// writing "0" to each v1 `tasks` file, and for the v2 (or hybrid unified)
// directory, cloning its child into it with CLONE_INTO_CGROUP.
//
// Why: moving another process through cgroup.procs takes the kernel's
// global threadgroup lock for writing, which waits for an RCU grace period
// (~12 ms on this kind of VM, most of a container's start time). A thread
// moving itself through v1 `tasks` skips that lock, and so does a clone
// into a v2 cgroup.
func (m *Manager) SelfJoin() (v1Tasks []string, v2Dir string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return selfJoin(m.v2, m.paths)
}

func selfJoin(v2 bool, paths map[string]string) (v1Tasks []string, v2Dir string) {
	for sub, p := range paths {
		if sub == "" || v2 {
			v2Dir = p
			continue
		}
		v1Tasks = append(v1Tasks, p+"/tasks")
	}
	slices.Sort(v1Tasks)
	return v1Tasks, v2Dir
}

// Where is the part of a saved State that says where the cgroups are:
// enough to join them or to read a v1 freezer without building a Manager,
// whose Load decodes the whole configuration (a cold encoding/json decode of
// the library's types, ~0.3 ms of every `exec` and `state`).
type Where struct {
	Version int               `json:"version"`
	V2      bool              `json:"v2"`
	Paths   map[string]string `json:"paths"`
}

// DecodeWhere reads the version and paths of a State saved as JSON.
func DecodeWhere(data []byte) (*Where, error) {
	var w Where
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, err
	}
	if w.Version != stateVersion {
		return nil, fmt.Errorf("cgroups: state version %d, want %d", w.Version, stateVersion)
	}
	if len(w.Paths) == 0 {
		return nil, errors.New("cgroups: state has no paths")
	}
	return &w, nil
}

// SelfJoin is Manager.SelfJoin for these paths.
func (w *Where) SelfJoin() (v1Tasks []string, v2Dir string) { return selfJoin(w.V2, w.Paths) }

// Paused reads a v1 freezer as Manager.FreezerState does (FROZEN by the
// cgroup itself, not by an ancestor, after any FREEZING settles). known is
// false on v2 (whose freezer needs the driver's wait) and without a freezer
// hierarchy: ask a Manager then.
func (w *Where) Paused() (paused, known bool, err error) {
	dir, ok := w.Paths["freezer"]
	if w.V2 || !ok {
		return false, false, nil
	}
	for i := 0; ; i++ {
		state, err := os.ReadFile(filepath.Join(dir, "freezer.state"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
				return false, true, nil
			}
			return false, true, err
		}
		switch strings.TrimSpace(string(state)) {
		case "THAWED":
			return false, true, nil
		case "FROZEN":
			self, err := os.ReadFile(filepath.Join(dir, "freezer.self_freezing"))
			if err != nil {
				if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
					return true, true, nil
				}
				return false, true, err
			}
			return string(self) == "1\n", true, nil
		case "FREEZING":
			time.Sleep(time.Millisecond)
		default:
			return false, true, fmt.Errorf("unknown freezer.state %q", state)
		}
	}
}

// missingDirs lists the cgroup directories that do not exist yet.
// mkdirsV1 is what the driver's Apply(-1) does on a v1 host, for the common
// case, without its walk of every ancestor (a statfs and a stat per level
// and hierarchy, ~0.3 ms here on the start path): one mkdir per hierarchy
// under parents that exist, then cpuset.cpus and cpuset.mems copied from
// the parent when the new cpuset is empty, as the driver does. It returns
// the directories it made and whether it did the whole job; when not (a
// missing parent, an unset parent cpuset, real-time cpu settings, rootless),
// the driver's Apply does the rest.
func (m *Manager) mkdirsV1() (created []string, done bool) {
	r := m.config.Resources
	if m.config.Rootless || r.CpuRtPeriod != 0 || r.CpuRtRuntime != 0 {
		return nil, false
	}
	for sub, p := range m.paths {
		if p == "" || (sub == "devices" && r.SkipDevices) {
			continue
		}
		switch err := unix.Mkdir(p, 0o755); err {
		case nil:
			created = append(created, p)
		case unix.EEXIST:
		default:
			return created, false
		}
		if sub == "cpuset" && !cpusetSeeded(p) {
			return created, false
		}
	}
	return created, true
}

// cpusetSeeded gives an empty v1 cpuset its parent's cpus and mems (a task
// cannot join a cpuset without them); false when it could not. Under a
// parent with clone_children the kernel has copied them at mkdir (unless a
// sibling is exclusive), and a write to cpuset.cpus, which rebuilds the
// scheduler's domains, is then not needed.
func cpusetSeeded(dir string) bool {
	parent := filepath.Dir(dir)
	if cc, err := os.ReadFile(filepath.Join(parent, "cgroup.clone_children")); err == nil && bytes.Equal(bytes.TrimSpace(cc), []byte("1")) {
		cpus, err1 := os.ReadFile(filepath.Join(dir, "cpuset.cpus"))
		mems, err2 := os.ReadFile(filepath.Join(dir, "cpuset.mems"))
		if err1 == nil && err2 == nil && len(bytes.TrimSpace(cpus)) > 0 && len(bytes.TrimSpace(mems)) > 0 {
			return true
		}
	}
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return false
		}
		if len(bytes.TrimSpace(cur)) > 0 {
			continue
		}
		want, err := os.ReadFile(filepath.Join(parent, f))
		if err != nil || len(bytes.TrimSpace(want)) == 0 {
			return false
		}
		if err := os.WriteFile(filepath.Join(dir, f), want, 0); err != nil {
			return false
		}
	}
	return true
}

func (m *Manager) missingDirs() []string {
	var out []string
	for _, p := range m.paths {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			out = append(out, p)
		}
	}
	return out
}

// Add moves another process (an exec) into the container's cgroup(s).
func (m *Manager) Add(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroup %s: add: invalid pid %d", m.describe(), pid)
	}
	if err := m.mgr.AddPid("", pid); err != nil {
		return fmt.Errorf("cgroup %s: add pid %d: %w", m.describe(), pid, err)
	}
	return nil
}

// Update merges the limits r sets into the stored configuration and writes
// the result (`runc update`). Device rules cannot be updated.
func (m *Manager) Update(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if len(r.Devices) > 0 {
		return fmt.Errorf("cgroup %s: update: device rules cannot be updated", m.describe())
	}
	upd, err := convertLimits(r, m.v2)
	if err != nil {
		return fmt.Errorf("cgroup %s: update: %w", m.describe(), err)
	}
	kernelTCP, err := convertKernelTCP(r.Memory, m.v2)
	if err != nil {
		return fmt.Errorf("cgroup %s: update: %w", m.describe(), err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.v2 {
		if err := checkV1Controllers(upd, kernelTCP, m.paths); err != nil {
			return fmt.Errorf("cgroup %s: update: %w", m.describe(), err)
		}
		if dir, ok := m.paths["blkio"]; ok {
			if err := checkV1Blkio(upd, dir); err != nil {
				return fmt.Errorf("cgroup %s: update: %w", m.describe(), err)
			}
		}
	}
	if err := checkHost(upd, m.sysfs); err != nil {
		return fmt.Errorf("cgroup %s: update: %w", m.describe(), err)
	}
	merged := *m.config.Resources
	// Copy the maps mergeLimits writes into, so a failed update leaves the
	// stored config untouched.
	merged.Rdma = maps.Clone(merged.Rdma)
	merged.Unified = maps.Clone(merged.Unified)
	mergeLimits(&merged, upd)

	// Write with the device rules skipped: they did not change, and
	// rewriting them would briefly revoke access on v1 and reattach the eBPF
	// program on v2.
	toSet := merged
	toSet.SkipDevices = true
	if err := m.mgr.Set(&toSet); err != nil {
		return fmt.Errorf("cgroup %s: update: %w", m.describe(), err)
	}
	m.config.Resources = &merged
	if err := m.writeKernelTCP(kernelTCP); err != nil {
		return fmt.Errorf("cgroup %s: update: %w", m.describe(), err)
	}
	if kernelTCP != 0 {
		m.kernelTCP = kernelTCP
	}
	return nil
}

// Pids returns the pids of every process in the cgroup and its descendants.
func (m *Manager) Pids() ([]int, error) {
	pids, err := m.mgr.GetAllPids()
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: list pids: %w", m.describe(), err)
	}
	return pids, nil
}

// Freeze stops every process in the cgroup (`pause`).
func (m *Manager) Freeze() error {
	return m.setFreezer(cgroups.Frozen)
}

// Thaw resumes a frozen cgroup (`resume`).
func (m *Manager) Thaw() error {
	return m.setFreezer(cgroups.Thawed)
}

func (m *Manager) setFreezer(state cgroups.FreezerState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mgr.Freeze(state); err != nil {
		return fmt.Errorf("cgroup %s: set freezer %s: %w", m.describe(), state, err)
	}
	return nil
}

// FreezerState returns "paused" when the cgroup is frozen and "running"
// otherwise (including when no freezer is available).
func (m *Manager) FreezerState() (string, error) {
	st, err := m.mgr.GetFreezerState()
	if err != nil {
		return "", fmt.Errorf("cgroup %s: read freezer state: %w", m.describe(), err)
	}
	if st == cgroups.Frozen {
		return "paused", nil
	}
	return "running", nil
}

// Stats reads the cgroup's counters, shaped like `runc events --stats`.
func (m *Manager) Stats() (*Stats, error) {
	st, err := m.mgr.GetStats()
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: stats: %w", m.describe(), err)
	}
	return convertStats(st), nil
}

// OOMKillCount returns how many processes the kernel OOM killer killed in
// the cgroup: "oom_kill" of memory.events (v2) or memory.oom_control (v1).
func (m *Manager) OOMKillCount() (uint64, error) {
	n, err := m.mgr.OOMKillCount()
	if err != nil {
		return 0, fmt.Errorf("cgroup %s: oom kill count: %w", m.describe(), err)
	}
	return n, nil
}

// Destroy removes the cgroup directories, retrying briefly while the kernel
// reports them busy (processes that were just killed). Its sub-cgroups go
// too. Destroying an already removed cgroup succeeds. It fails if processes
// are still inside.
func (m *Manager) Destroy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// One rmdir per hierarchy, each waiting for the kernel to take the
	// cgroup offline: side by side they cost one wait, not ten.
	errs := make([]error, 0, len(m.paths))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range m.paths {
		wg.Go(func() {
			// RemovePath ignores ENOENT and retries EBUSY with backoff (~1s).
			if err := cgroups.RemovePath(p); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroup %s: destroy: %w", m.describe(), err)
	}
	return nil
}

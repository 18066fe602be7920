package rootfs

// The root tests run Prepare, Pivot, BindConsole and Finish for real, which
// takes a process of its own: the test binary re-executes itself in new
// mount, pid, uts, ipc (and cgroup, user) namespaces, the child reads a
// scenario on stdin, sets up the container's filesystem, runs the requested
// probes from inside the new root and prints a JSON result that the parent
// asserts on.
//
//   parent (go test)                     child (same binary, new namespaces)
//      │ scenario JSON on stdin ───────────▶ │ mount / rslave, pre-mounts
//      │                                     │ Prepare, Pivot, [BindConsole], Finish
//      │ ◀─────────── result JSON on stdout  │ mountinfo + probes, exit
//      │ assert; no mount left under the test's dirs
//
// With a real user namespace there is one more hop: a first child (new
// mount namespace only) makes the pre-mounts, so that they are locked when
// the second child inherits them across the user namespace boundary.
//
// Without a mount namespace (NoMountNS) the first hop stands for the
// runtime's own namespace, so that the test's is never touched: a private
// copy whose "/" is then made shared, as systemd makes a real host's.
//
//   parent (go test)        "host" (new mount ns)          container (same mount ns)
//      │ scenario ─────────▶ │ / rprivate, then shared
//      │                     │ scenario ─────────────────────▶ │ Prepare, Pivot (chroot), Finish
//      │                     │ ◀──────────────────── result    │ probes, exit
//      │                     │ mounts under the rootfs, "/" unchanged?
//      │                     │ Cleanup, Cleanup again: what is left
//      │ ◀───── result + host view

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const childEnv = "BERTH_ROOTFS_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "premount":
		os.Exit(premountChild())
	case "hostns":
		os.Exit(hostNSChild())
	default:
		os.Exit(scenarioChild())
	}
}

// scenario is what the parent asks a child to do.
type scenario struct {
	Rootfs   string
	Bundle   string
	Spec     *specs.Spec
	NoPivot  bool
	CgroupNS bool
	// UserNS runs the child in a real user namespace (ids mapped 1:1);
	// FakeUserNS only sets Config.UserNS.
	UserNS     bool
	FakeUserNS bool
	Console    bool
	// PreTmpfs are host directories on which the child mounts a nosuid,nodev
	// tmpfs in its own namespace before Prepare (fixtures for submounts and
	// locked flags).
	PreTmpfs []string
	// NoMountNS runs the container in the "host" hop's mount namespace
	// (see above); RootfsFrom, when set, is bound onto Rootfs in that
	// namespace first, standing for the caller's own rootfs mount (a
	// snapshotter's overlay) that Cleanup must leave alone.
	NoMountNS  bool
	RootfsFrom string
	Probes     []probe
	// dir is the child's working directory (default: the rootfs's parent).
	dir string
}

type probe struct{ Op, Path string }

type probeResult struct {
	probe
	Errno   int // 0 when the operation worked
	Err     string
	Mode    uint32
	UID     uint32
	GID     uint32
	Major   uint32
	Minor   uint32
	Ino     uint64
	Target  string
	Content string
	Names   []string
	FsType  int64
	Size    int64
}

type mountEntry struct {
	ID, Parent                       int
	Mountpoint, Root, FSType, Source string
	Options, Optional, Super         []string
}

type result struct {
	Stage, Err     string // the step that failed, if any
	Mounts         []mountEntry
	Probes         []probeResult
	ConsoleRdev    uint64
	SlaveRdev      uint64
	Prepare, Pivot time.Duration
	Finish         time.Duration
	// The "host" view of a NoMountNS scenario: its "/" before and after the
	// container's setup, the mounts under the rootfs after it, and after
	// one and two Cleanups.
	HostRootBefore, HostRootAfter    mountEntry
	HostMounts                       []mountEntry
	AfterCleanup, AfterSecondCleanup []mountEntry
	CleanupErr                       string
}

// premountChild is the first hop of a user-namespace scenario.
func premountChild() int {
	var sc scenario
	if err := json.NewDecoder(os.Stdin).Decode(&sc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := isolate(&sc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	sc.PreTmpfs = nil
	cmd := childCommand(&sc, "scenario")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func isolate(sc *scenario) error {
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / rslave: %w", err)
	}
	for _, d := range sc.PreTmpfs {
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
			return fmt.Errorf("pre-mount %s: %w", d, err)
		}
	}
	return nil
}

// hostNSChild is the first hop of a NoMountNS scenario.
func hostNSChild() int {
	var sc scenario
	if err := json.NewDecoder(os.Stdin).Decode(&sc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	res, err := hostNS(&sc)
	if err != nil {
		res = &result{Stage: "host", Err: err.Error()}
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func hostNS(sc *scenario) (*result, error) {
	if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("make / rprivate: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SHARED, ""); err != nil {
		return nil, fmt.Errorf("make / shared: %w", err)
	}
	for _, d := range sc.PreTmpfs {
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
			return nil, fmt.Errorf("pre-mount %s: %w", d, err)
		}
	}
	if sc.RootfsFrom != "" {
		if err := unix.Mount(sc.RootfsFrom, sc.Rootfs, "", unix.MS_BIND, ""); err != nil {
			return nil, fmt.Errorf("bind %s on %s: %w", sc.RootfsFrom, sc.Rootfs, err)
		}
	}
	rootBefore, _, err := hostView(sc.Rootfs)
	if err != nil {
		return nil, err
	}
	cmd := childCommand(sc, "scenario")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("container hop: %w", err)
	}
	var res result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("container hop output: %w", err)
	}
	res.HostRootBefore = rootBefore
	if res.HostRootAfter, res.HostMounts, err = hostView(sc.Rootfs); err != nil {
		return nil, err
	}
	if err := Cleanup(sc.Rootfs); err != nil {
		res.CleanupErr = err.Error()
	}
	if _, res.AfterCleanup, err = hostView(sc.Rootfs); err != nil {
		return nil, err
	}
	if err := Cleanup(sc.Rootfs); err != nil && res.CleanupErr == "" {
		res.CleanupErr = "second call: " + err.Error()
	}
	if _, res.AfterSecondCleanup, err = hostView(sc.Rootfs); err != nil {
		return nil, err
	}
	return &res, nil
}

// hostView returns the top mount at "/" and the mounts at or under rootfs.
func hostView(rootfs string) (root mountEntry, under []mountEntry, err error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return root, nil, err
	}
	for _, m := range parseTestMountinfo(string(data)) {
		switch {
		case m.Mountpoint == "/":
			root = m
		case m.Mountpoint == rootfs || strings.HasPrefix(m.Mountpoint, rootfs+"/"):
			under = append(under, m)
		}
	}
	return root, under, nil
}

func scenarioChild() int {
	var sc scenario
	if err := json.NewDecoder(os.Stdin).Decode(&sc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	res := runScenario(&sc)
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func runScenario(sc *scenario) *result {
	res := &result{}
	fail := func(stage string, err error) *result {
		res.Stage, res.Err = stage, err.Error()
		return res
	}
	if !sc.NoMountNS {
		if err := isolate(sc); err != nil {
			return fail("isolate", err)
		}
	}
	cfg := &Config{
		Rootfs: sc.Rootfs, Bundle: sc.Bundle, Spec: sc.Spec,
		NoPivot: sc.NoPivot, UserNS: sc.UserNS || sc.FakeUserNS, CgroupNS: sc.CgroupNS,
		NoMountNS: sc.NoMountNS,
	}
	t0 := time.Now()
	if err := Prepare(cfg); err != nil {
		return fail("prepare", err)
	}
	t1 := time.Now()
	if err := Pivot(cfg); err != nil {
		return fail("pivot", err)
	}
	t2 := time.Now()
	if wd, err := os.Getwd(); err != nil || wd != "/" {
		return fail("pivot", fmt.Errorf("working directory is %q (%v), want /", wd, err))
	}
	if sc.Console {
		if err := console(res); err != nil {
			return fail("console", err)
		}
	}
	t3 := time.Now()
	if err := Finish(cfg); err != nil {
		return fail("finish", err)
	}
	res.Prepare, res.Pivot, res.Finish = t1.Sub(t0), t2.Sub(t1), time.Since(t3)
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		res.Mounts = parseTestMountinfo(string(data))
	}
	for _, p := range sc.Probes {
		res.Probes = append(res.Probes, runProbe(p))
	}
	return res
}

// console opens a pty in the container's devpts, as the init would, and
// binds its slave to /dev/console.
func console(res *result) error {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return err
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		return err
	}
	slave := fmt.Sprintf("/dev/pts/%d", n)
	if err := BindConsole(slave); err != nil {
		return err
	}
	var a, b unix.Stat_t
	if err := unix.Stat("/dev/console", &a); err != nil {
		return err
	}
	if err := unix.Stat(slave, &b); err != nil {
		return err
	}
	res.ConsoleRdev, res.SlaveRdev = a.Rdev, b.Rdev
	return nil
}

func runProbe(p probe) probeResult {
	r := probeResult{probe: p}
	var err error
	stat := func(st *unix.Stat_t) {
		r.Mode, r.UID, r.GID, r.Ino = st.Mode, st.Uid, st.Gid, st.Ino
		r.Major, r.Minor = unix.Major(st.Rdev), unix.Minor(st.Rdev)
	}
	switch p.Op {
	case "stat", "lstat":
		var st unix.Stat_t
		if p.Op == "stat" {
			err = unix.Stat(p.Path, &st)
		} else {
			err = unix.Lstat(p.Path, &st)
		}
		stat(&st)
	case "readlink":
		r.Target, err = os.Readlink(p.Path)
	case "read":
		var b []byte
		b, err = os.ReadFile(p.Path)
		r.Content = string(b)
	case "readdir":
		var ents []os.DirEntry
		ents, err = os.ReadDir(p.Path)
		r.Names = []string{}
		for _, e := range ents {
			r.Names = append(r.Names, e.Name())
		}
	case "write":
		err = os.WriteFile(p.Path, []byte("x"), 0o644)
	case "mkdir":
		err = unix.Mkdir(p.Path, 0o755)
	case "access-x":
		err = unix.Access(p.Path, unix.X_OK)
	case "open-rw":
		var fd int
		if fd, err = unix.Open(p.Path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err == nil {
			unix.Close(fd)
		}
	case "statfs":
		var st unix.Statfs_t
		err = unix.Statfs(p.Path, &st)
		r.FsType, r.Size = st.Type, int64(st.Blocks)*st.Bsize
	default:
		err = fmt.Errorf("unknown probe %q", p.Op)
	}
	if err != nil {
		r.Err = err.Error()
		var errno unix.Errno
		if errors.As(err, &errno) {
			r.Errno = int(errno)
		} else {
			r.Errno = -1
		}
	}
	return r
}

func parseTestMountinfo(data string) []mountEntry {
	var out []mountEntry
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		m := mountEntry{Root: unescapeMountinfo(f[3]), Mountpoint: unescapeMountinfo(f[4]), Options: strings.Split(f[5], ",")}
		m.ID, _ = strconv.Atoi(f[0])
		m.Parent, _ = strconv.Atoi(f[1])
		i := 6
		for ; i < len(f) && f[i] != "-"; i++ {
			m.Optional = append(m.Optional, f[i])
		}
		if i+3 >= len(f) {
			continue
		}
		m.FSType, m.Source, m.Super = f[i+1], f[i+2], strings.Split(f[i+3], ",")
		out = append(out, m)
	}
	return out
}

// childCommand builds the re-exec of the test binary for a scenario hop.
func childCommand(sc *scenario, hop string) *exec.Cmd {
	in, err := json.Marshal(sc)
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), childEnv+"="+hop)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Dir = sc.dir
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	switch {
	case hop == "premount" || hop == "hostns":
		attr.Cloneflags = syscall.CLONE_NEWNS
	case sc.NoMountNS:
		// The "host" hop's namespaces, as a spec without any would get.
	default:
		attr.Cloneflags = syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC
		if sc.CgroupNS {
			attr.Cloneflags |= syscall.CLONE_NEWCGROUP
		}
		if sc.UserNS {
			attr.Cloneflags |= syscall.CLONE_NEWUSER
			attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
			attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
			attr.GidMappingsEnableSetgroups = true
		}
	}
	cmd.SysProcAttr = attr
	return cmd
}

// run executes sc in a child and returns its result; the test fails if the
// child could not run or a mount shows up under the test's directories.
func run(t *testing.T, sc *scenario) *result {
	t.Helper()
	hop := "scenario"
	switch {
	case sc.NoMountNS:
		hop = "hostns"
	case sc.UserNS:
		hop = "premount"
	}
	if sc.dir == "" {
		sc.dir = filepath.Dir(sc.Rootfs)
	}
	cmd := childCommand(sc, hop)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstderr:\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("child stderr:\n%s", stderr.String())
	}
	var res result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("child output: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	// Every t.TempDir of the test shares the parent of the bundle.
	assertNoHostMounts(t, filepath.Dir(filepath.Dir(sc.Rootfs)))
	if res.Stage == "" {
		t.Logf("rootfs setup: prepare %v, pivot %v, finish %v", res.Prepare, res.Pivot, res.Finish)
	}
	return &res
}

// runOK is run for scenarios that must succeed.
func runOK(t *testing.T, sc *scenario) *result {
	t.Helper()
	res := run(t, sc)
	if res.Stage != "" {
		t.Fatalf("%s failed: %s", res.Stage, res.Err)
	}
	return res
}

// assertNoHostMounts fails if anything is mounted under dir in the test's
// own mount namespace: every mount must have stayed in the child's.
func assertNoHostMounts(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range parseTestMountinfo(string(data)) {
		if m.Mountpoint == dir || strings.HasPrefix(m.Mountpoint, dir+"/") {
			t.Errorf("mount leaked into the test's namespace: %s (%s)", m.Mountpoint, m.FSType)
		}
	}
}

func (r *result) probe(t *testing.T, op, path string) probeResult {
	t.Helper()
	for _, p := range r.Probes {
		if p.Op == op && p.Path == path {
			return p
		}
	}
	t.Fatalf("no %s probe for %s", op, path)
	return probeResult{}
}

// mount returns the top mount at mountpoint.
func (r *result) mount(t *testing.T, mountpoint string) mountEntry {
	t.Helper()
	var found *mountEntry
	for i := range r.Mounts {
		if r.Mounts[i].Mountpoint == mountpoint {
			found = &r.Mounts[i]
		}
	}
	if found == nil {
		t.Fatalf("nothing mounted at %s; mounts: %s", mountpoint, r.mountpoints())
	}
	return *found
}

func (r *result) mountpoints() string {
	var s []string
	for _, m := range r.Mounts {
		s = append(s, m.Mountpoint+"("+m.FSType+")")
	}
	return strings.Join(s, " ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hasPrefixed(list []string, prefix string) bool {
	for _, v := range list {
		if strings.HasPrefix(v, prefix) {
			return true
		}
	}
	return false
}

// wantMount asserts the top mount at mp has fstype and the given per-mount
// options and superblock options.
func (r *result) wantMount(t *testing.T, mp, fstype string, opts, super []string) mountEntry {
	t.Helper()
	m := r.mount(t, mp)
	if m.FSType != fstype {
		t.Errorf("%s: type %s, want %s", mp, m.FSType, fstype)
	}
	for _, o := range opts {
		if !contains(m.Options, o) {
			t.Errorf("%s: options %v lack %s", mp, m.Options, o)
		}
	}
	for _, o := range super {
		if !contains(m.Super, o) {
			t.Errorf("%s: superblock options %v lack %s", mp, m.Super, o)
		}
	}
	return m
}

// wantErrno asserts a probe failed with errno (0: worked).
func (r *result) wantErrno(t *testing.T, op, path string, errno unix.Errno) {
	t.Helper()
	p := r.probe(t, op, path)
	if p.Errno != int(errno) {
		t.Errorf("%s %s: got %q (errno %d), want errno %d (%v)", op, path, p.Err, p.Errno, int(errno), errno)
	}
}

// wantNode asserts an lstat probe found a node of kind with the mode, owner
// and device numbers given.
func (r *result) wantNode(t *testing.T, path string, kind, perm, uid, gid, major, minor uint32) {
	t.Helper()
	p := r.probe(t, "lstat", path)
	if p.Err != "" {
		t.Errorf("lstat %s: %s", path, p.Err)
		return
	}
	if p.Mode != kind|perm || p.UID != uid || p.GID != gid || p.Major != major || p.Minor != minor {
		t.Errorf("%s: mode %o uid %d gid %d rdev %d:%d; want mode %o uid %d gid %d rdev %d:%d",
			path, p.Mode, p.UID, p.GID, p.Major, p.Minor, kind|perm, uid, gid, major, minor)
	}
}

func probes(op string, paths ...string) []probe {
	out := make([]probe, len(paths))
	for i, p := range paths {
		out[i] = probe{Op: op, Path: p}
	}
	return out
}

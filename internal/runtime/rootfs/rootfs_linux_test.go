package rootfs

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/testutil"
)

func hostExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func randomName(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "berth-rootfs-test-" + hex.EncodeToString(b)
}

// hostCgroups is the v1 part of the test's own /proc/self/cgroup (children
// inherit it), or nil on a cgroup v2 host, where these checks do not apply.
func hostCgroups(t *testing.T) []cgroupLine {
	t.Helper()
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := parseProcCgroup(string(data))
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupRoot, &st); err != nil || st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Log("not a cgroup v1 host: cgroup views are not checked")
		return nil
	}
	var v1 []cgroupLine
	for _, l := range lines {
		if l.dir != "" {
			v1 = append(v1, l)
		}
	}
	return v1
}

// checkCgroupView asserts each v1 hierarchy is mounted read-only at
// /sys/fs/cgroup/<dir> and shows exactly the test's own cgroup directory,
// and that the tmpfs holding them stays writable, as runc leaves it.
func checkCgroupView(t *testing.T, res *result, lines []cgroupLine, cgroupns bool) {
	t.Helper()
	if lines == nil {
		return
	}
	res.wantMount(t, "/sys/fs/cgroup", "tmpfs", []string{"rw", "nosuid", "nodev", "noexec"}, []string{"mode=755"})
	for _, l := range lines {
		mp := "/sys/fs/cgroup/" + l.dir
		m := res.wantMount(t, mp, "cgroup", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
		for _, c := range l.controllers {
			if !contains(m.Super, c) {
				t.Errorf("%s: superblock options %v lack %s", mp, m.Super, c)
			}
		}
		if l.name != "" && !contains(m.Super, "name="+l.name) {
			t.Errorf("%s: superblock options %v lack name=%s", mp, m.Super, l.name)
		}
		wantRoot := l.path
		if cgroupns {
			wantRoot = "/"
		}
		if m.Root != wantRoot {
			t.Errorf("%s: mount root %s, want %s", mp, m.Root, wantRoot)
		}
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(hostCgroupRoot, l.dir, l.path), &st); err != nil {
			t.Errorf("host cgroup dir: %v", err)
			continue
		}
		if p := res.probe(t, "stat", mp); p.Ino != st.Ino {
			t.Errorf("%s shows inode %d, want the test's cgroup %s (inode %d)", mp, p.Ino, l.path, st.Ino)
		}
		for _, n := range l.links() {
			if p := res.probe(t, "readlink", "/sys/fs/cgroup/"+n); p.Target != l.dir {
				t.Errorf("/sys/fs/cgroup/%s -> %q, want %q", n, p.Target, l.dir)
			}
		}
	}
}

func cgroupProbes(lines []cgroupLine) []probe {
	var out []probe
	for _, l := range lines {
		out = append(out, probe{"stat", "/sys/fs/cgroup/" + l.dir})
		for _, n := range l.links() {
			out = append(out, probe{"readlink", "/sys/fs/cgroup/" + n})
		}
	}
	return out
}

// TestDefaultSpec runs the spec `berth-runtime spec` writes: every default
// mount with its type and flags, the default devices and /dev symlinks,
// masked and read-only paths, a read-only root and the cgroup view in a
// cgroup namespace.
func TestDefaultSpec(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	b := testutil.NewBundle(t, []string{"true"}, nil)
	lines := hostCgroups(t)
	sc := &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, CgroupNS: true}
	sc.Probes = append(sc.Probes, probes("lstat", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")...)
	sc.Probes = append(sc.Probes, probes("readlink", "/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr")...)
	sc.Probes = append(sc.Probes, probes("lstat", "/dev/core", "/dev/shm")...)
	sc.Probes = append(sc.Probes, probes("read", "/proc/keys", "/proc/timer_list", "/proc/kcore")...)
	sc.Probes = append(sc.Probes, probes("readdir", "/proc/acpi", "/sys/firmware")...)
	sc.Probes = append(sc.Probes, probes("mkdir", "/sys/firmware/x", "/tmp/x")...)
	sc.Probes = append(sc.Probes, probes("write", "/proc/sys/kernel/hostname", "/probe-file", "/dev/shm/x", "/dev/x")...)
	sc.Probes = append(sc.Probes, probes("open-rw", "/dev/null")...)
	sc.Probes = append(sc.Probes, cgroupProbes(lines)...)
	res := runOK(t, sc)

	res.wantMount(t, "/proc", "proc", nil, nil)
	dev := res.wantMount(t, "/dev", "tmpfs", []string{"rw", "nosuid"}, []string{"mode=755", "size=65536k"})
	if contains(dev.Options, "relatime") || contains(dev.Options, "noatime") {
		t.Errorf("/dev is not strictatime: %v", dev.Options)
	}
	res.wantMount(t, "/dev/pts", "devpts", []string{"nosuid", "noexec"}, []string{"gid=5", "mode=620", "ptmxmode=666"})
	res.wantMount(t, "/dev/shm", "tmpfs", []string{"nosuid", "nodev", "noexec"}, []string{"size=65536k"})
	if p := res.probe(t, "lstat", "/dev/shm"); p.Mode != unix.S_IFDIR|0o1777 {
		t.Errorf("/dev/shm mode %o, want %o", p.Mode, unix.S_IFDIR|0o1777)
	}
	res.wantMount(t, "/dev/mqueue", "mqueue", []string{"nosuid", "nodev", "noexec"}, nil)
	res.wantMount(t, "/sys", "sysfs", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
	res.wantMount(t, "/", res.mount(t, "/").FSType, []string{"ro"}, nil)
	checkCgroupView(t, res, lines, true)

	for _, d := range defaultDevices {
		res.wantNode(t, d.path, unix.S_IFCHR, 0o666, 0, 0, d.major, d.minor)
	}
	res.wantErrno(t, "open-rw", "/dev/null", 0)
	for path, target := range map[string]string{
		"/dev/ptmx": "pts/ptmx", "/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	} {
		if p := res.probe(t, "readlink", path); p.Target != target {
			t.Errorf("%s -> %q (%s), want %q", path, p.Target, p.Err, target)
		}
	}
	if hostExists("/proc/kcore") {
		res.wantErrno(t, "read", "/proc/kcore", 0)
		if p := res.probe(t, "read", "/proc/kcore"); p.Content != "" {
			t.Error("/proc/kcore is not masked")
		}
		res.wantErrno(t, "lstat", "/dev/core", 0)
	} else {
		res.wantErrno(t, "lstat", "/dev/core", unix.ENOENT)
	}

	// Masked paths: files read as empty, directories are empty and read-only.
	for _, f := range []string{"/proc/keys", "/proc/timer_list"} {
		if !hostExists(f) {
			continue
		}
		if p := res.probe(t, "read", f); p.Err != "" || p.Content != "" {
			t.Errorf("masked %s: read %q (%s), want empty", f, p.Content, p.Err)
		}
	}
	for _, d := range []string{"/proc/acpi", "/sys/firmware"} {
		if !hostExists(d) {
			continue
		}
		if p := res.probe(t, "readdir", d); p.Err != "" || len(p.Names) != 0 {
			t.Errorf("masked %s lists %v (%s), want nothing", d, p.Names, p.Err)
		}
	}
	res.wantErrno(t, "mkdir", "/sys/firmware/x", unix.EROFS)
	checkMaskedTmpfs(t, res, "/proc/acpi", "/sys/firmware")

	// Read-only paths and root; the writable mounts stay writable.
	res.wantErrno(t, "write", "/proc/sys/kernel/hostname", unix.EROFS)
	res.wantErrno(t, "write", "/probe-file", unix.EROFS)
	res.wantErrno(t, "mkdir", "/tmp/x", unix.EROFS)
	res.wantErrno(t, "write", "/dev/shm/x", 0)
	res.wantErrno(t, "write", "/dev/x", 0)
	if hostExists(filepath.Join(b.Rootfs(), "probe-file")) {
		t.Error("a write to the read-only root reached the rootfs")
	}
}

// checkMaskedTmpfs asserts the masked directories among paths carry a
// read-only tmpfs with no size or inode options: runc mounts it that way,
// and /proc/self/mounts must read the same under both runtimes.
func checkMaskedTmpfs(t *testing.T, res *result, paths ...string) {
	t.Helper()
	for _, d := range paths {
		if !hostExists(d) {
			continue
		}
		m := res.wantMount(t, d, "tmpfs", []string{"ro"}, nil)
		if hasPrefixed(m.Super, "size=") || hasPrefixed(m.Super, "nr_inodes=") {
			t.Errorf("masked %s: tmpfs options %v, want none of size or nr_inodes (as runc)", d, m.Super)
		}
	}
}

// TestNoMountNamespace runs the default spec with NoMountNS in a stand-in
// for the runtime's mount namespace whose "/" is shared (see the harness).
// The container gets the usual view from a chroot into a private bind of
// its rootfs; "/" keeps its mount and propagation (NoPivot is ignored);
// nothing mounted for the container propagates; Cleanup, twice, leaves
// nothing under the rootfs.
func TestNoMountNamespace(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	b := testutil.NewBundle(t, []string{"true"}, nil)
	lines := hostCgroups(t)
	sc := &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, NoMountNS: true, NoPivot: true, Console: true}
	sc.Probes = append(sc.Probes, probes("lstat", "/dev/null", "/dev/zero", "/dev/tty", "/bin/busybox")...)
	sc.Probes = append(sc.Probes, probes("readlink", "/dev/ptmx", "/dev/fd")...)
	sc.Probes = append(sc.Probes, probes("read", "/proc/keys", "/etc/hostname")...)
	sc.Probes = append(sc.Probes, probes("readdir", "/proc/acpi", "/sys/firmware")...)
	sc.Probes = append(sc.Probes, probes("write", "/probe-file", "/proc/sys/kernel/hostname", "/dev/shm/x")...)
	sc.Probes = append(sc.Probes, cgroupProbes(lines)...)
	res := runOK(t, sc)

	if res.ConsoleRdev == 0 || res.ConsoleRdev != res.SlaveRdev {
		t.Errorf("/dev/console rdev %#x, want the slave's %#x", res.ConsoleRdev, res.SlaveRdev)
	}
	if p := res.probe(t, "read", "/etc/hostname"); p.Content != "berth\n" {
		t.Errorf("/etc/hostname reads %q (%s), want the rootfs's", p.Content, p.Err)
	}
	res.wantErrno(t, "lstat", "/bin/busybox", 0)
	res.wantMount(t, "/", res.mount(t, "/").FSType, []string{"ro"}, nil)
	res.wantMount(t, "/proc", "proc", nil, nil)
	res.wantMount(t, "/dev", "tmpfs", []string{"nosuid"}, []string{"mode=755"})
	res.wantMount(t, "/dev/pts", "devpts", nil, []string{"ptmxmode=666"})
	res.wantMount(t, "/sys", "sysfs", []string{"ro"}, nil)
	for _, d := range defaultDevices[:2] {
		res.wantNode(t, d.path, unix.S_IFCHR, 0o666, 0, 0, d.major, d.minor)
	}
	if p := res.probe(t, "readlink", "/dev/ptmx"); p.Target != "pts/ptmx" {
		t.Errorf("/dev/ptmx -> %q (%s)", p.Target, p.Err)
	}
	if p := res.probe(t, "read", "/proc/keys"); hostExists("/proc/keys") && (p.Err != "" || p.Content != "") {
		t.Errorf("masked /proc/keys reads %q (%s)", p.Content, p.Err)
	}
	for _, d := range []string{"/proc/acpi", "/sys/firmware"} {
		if p := res.probe(t, "readdir", d); hostExists(d) && (p.Err != "" || len(p.Names) != 0) {
			t.Errorf("masked %s lists %v (%s)", d, p.Names, p.Err)
		}
	}
	checkMaskedTmpfs(t, res, "/proc/acpi", "/sys/firmware")
	res.wantErrno(t, "write", "/probe-file", unix.EROFS)
	res.wantErrno(t, "write", "/proc/sys/kernel/hostname", unix.EROFS)
	res.wantErrno(t, "write", "/dev/shm/x", 0)
	checkCgroupView(t, res, lines, false)
	if hostExists(filepath.Join(b.Rootfs(), "probe-file")) {
		t.Error("a write to the read-only root reached the rootfs")
	}

	binds := checkHostView(t, res, b.Rootfs(), 0)
	if binds != 1 {
		t.Errorf("%d binds of the rootfs onto itself, want 1", binds)
	}
	// The container's mounts were all seen from the host namespace.
	if len(res.HostMounts) < 10 {
		t.Errorf("only %d mounts under the rootfs seen from the host: %v", len(res.HostMounts), res.HostMounts)
	}
}

// TestNoMountNamespaceCallersMount: the caller's own mount at the rootfs
// (here a bind of another directory, as a snapshotter's overlay would be)
// carries the container's bind and survives Cleanup.
func TestNoMountNamespaceCallersMount(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	b := testutil.NewBundle(t, []string{"true"}, nil)
	mnt := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	sc := &scenario{Rootfs: mnt, RootfsFrom: b.Rootfs(), Spec: b.Spec, NoMountNS: true, Probes: probes("lstat", "/bin/busybox", "/dev/null")}
	res := runOK(t, sc)
	res.wantErrno(t, "lstat", "/bin/busybox", 0)
	res.wantNode(t, "/dev/null", unix.S_IFCHR, 0o666, 0, 0, 1, 3)
	if binds := checkHostView(t, res, mnt, 1); binds != 1 {
		t.Errorf("%d binds of the rootfs onto itself, want 1", binds)
	}
	if len(res.AfterCleanup) == 1 && res.AfterCleanup[0].Root != b.Rootfs() {
		t.Errorf("the mount left at the rootfs shows %s, want the caller's bind of %s", res.AfterCleanup[0].Root, b.Rootfs())
	}
}

// TestNoMountNamespacePrepareFails: a Prepare that fails in the runtime's
// namespace takes its bind, and what it mounted under it, away again.
func TestNoMountNamespacePrepareFails(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc/self", Type: "bind", Source: "/tmp", Options: []string{"rbind"}})
	})
	res := run(t, &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, NoMountNS: true})
	if res.Stage != "prepare" || !strings.Contains(res.Err, "inside /proc") {
		t.Fatalf("stage %q error %q, want the Prepare error about /proc/self", res.Stage, res.Err)
	}
	if len(res.HostMounts) != 0 {
		t.Errorf("a failed Prepare left mounts under the rootfs: %v", res.HostMounts)
	}
	checkHostView(t, res, b.Rootfs(), 0)
}

// checkHostView asserts what the stand-in for the runtime's namespace saw of
// a NoMountNS scenario: its "/" unchanged; under the rootfs, apart from the
// caller's keep mounts at the bottom, only binds of the rootfs onto itself
// and mounts below them, none of them propagating; after each Cleanup only
// the caller's mounts. It returns how many binds onto itself there were.
func checkHostView(t *testing.T, res *result, rootfs string, keep int) int {
	t.Helper()
	before, after := res.HostRootBefore, res.HostRootAfter
	if before.ID == 0 || after.ID != before.ID || !reflect.DeepEqual(after.Optional, before.Optional) ||
		!reflect.DeepEqual(after.Options, before.Options) {
		t.Errorf("the host's / changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if !hasPrefixed(before.Optional, "shared:") {
		t.Errorf("the host's / is %v, want shared (the harness makes it so)", before.Optional)
	}
	if res.CleanupErr != "" {
		t.Errorf("Cleanup: %s", res.CleanupErr)
	}
	if len(res.HostMounts) < keep {
		t.Fatalf("%d mounts under the rootfs, want at least the caller's %d", len(res.HostMounts), keep)
	}
	ours := map[int]bool{}
	binds := 0
	for i, m := range res.HostMounts {
		switch {
		case i < keep:
			continue
		case m.Mountpoint == rootfs && !ours[m.Parent]:
			binds++
		case !ours[m.Parent]:
			t.Errorf("%s (%s, mount %d) is not under the container's bind: it reached the host's mount %d",
				m.Mountpoint, m.FSType, m.ID, m.Parent)
		}
		ours[m.ID] = true
		if hasPrefixed(m.Optional, "shared:") || hasPrefixed(m.Optional, "master:") {
			t.Errorf("%s (%s) propagates: %v", m.Mountpoint, m.FSType, m.Optional)
		}
	}
	for name, left := range map[string][]mountEntry{"Cleanup": res.AfterCleanup, "a second Cleanup": res.AfterSecondCleanup} {
		if len(left) != keep || (keep > 0 && !reflect.DeepEqual(left, res.HostMounts[:keep])) {
			t.Errorf("after %s, mounts under the rootfs: %v; want only the caller's %v", name, left, res.HostMounts[:keep])
		}
	}
	return binds
}

// TestCgroupWithoutNamespace: without a cgroup namespace the container still
// sees only its own cgroup directory of each hierarchy.
func TestCgroupWithoutNamespace(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	lines := hostCgroups(t)
	if lines == nil {
		t.Skip("needs a cgroup v1 host")
	}
	b := testutil.NewBundle(t, []string{"true"}, nil)
	res := runOK(t, &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, Probes: cgroupProbes(lines)})
	checkCgroupView(t, res, lines, false)
}

// TestBindAndTmpfsMounts covers bind mounts (ro, rro, nosuid/nodev/noexec,
// file binds, relative sources, the lxcfs exception under /proc), tmpfs
// mode/size, delayed read-only tmpfs, and per-mount propagation.
func TestBindAndTmpfsMounts(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), "in src", 0o644)
	writeFile(t, filepath.Join(src, "run.sh"), "#!/bin/sh\n", 0o755)
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	hostFile := filepath.Join(t.TempDir(), "file")
	writeFile(t, hostFile, "bound file", 0o644)
	cpuinfo := filepath.Join(t.TempDir(), "cpuinfo")
	writeFile(t, cpuinfo, "lxcfs cpuinfo", 0o444)

	b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/ro", Type: "bind", Source: src, Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "/rro", Source: src, Options: []string{"rbind", "rro"}},
			specs.Mount{Destination: "/flags", Type: "bind", Source: src, Options: []string{"bind", "nosuid", "nodev", "noexec"}},
			specs.Mount{Destination: "/etc/file-bind", Type: "bind", Source: hostFile, Options: []string{"bind", "ro"}},
			specs.Mount{Destination: "/rel", Type: "bind", Source: "relsrc", Options: []string{"bind"}},
			specs.Mount{Destination: "/shared", Type: "bind", Source: src, Options: []string{"rbind", "shared"}},
			specs.Mount{Destination: "/unbindable", Type: "tmpfs", Source: "tmpfs", Options: []string{"unbindable"}},
			specs.Mount{Destination: "/mytmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=1770", "size=1m", "nodev"}},
			specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/rotmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro", "size=1m"}},
			specs.Mount{Destination: "/proc/cpuinfo", Type: "bind", Source: cpuinfo, Options: []string{"bind", "ro"}},
		)
	})
	writeFile(t, filepath.Join(b.Dir, "relsrc", "marker"), "relative", 0o644)
	// The tmpfs on /tmp must take this mode (os.Chmod cannot set the sticky
	// bit from a plain 0o1777).
	if err := unix.Chmod(filepath.Join(b.Rootfs(), "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}

	// Relative sources resolve against Bundle, not the working directory.
	sc := &scenario{Rootfs: b.Rootfs(), Bundle: b.Dir, dir: "/", Spec: b.Spec, CgroupNS: true, PreTmpfs: []string{filepath.Join(src, "sub")}}
	sc.Probes = append(sc.Probes, probes("write", "/ro/new", "/ro/sub/new", "/rro/new", "/rro/sub/new", "/rotmp/new", "/mytmp/new", "/newfile")...)
	sc.Probes = append(sc.Probes, probes("access-x", "/flags/run.sh", "/rro/run.sh")...)
	sc.Probes = append(sc.Probes, probes("open-rw", "/flags/null", "/rro/null")...)
	sc.Probes = append(sc.Probes, probes("read", "/etc/file-bind", "/rel/marker", "/proc/cpuinfo", "/ro/f")...)
	sc.Probes = append(sc.Probes, probes("lstat", "/etc/file-bind", "/mytmp", "/tmp")...)
	sc.Probes = append(sc.Probes, probes("statfs", "/mytmp")...)
	res := runOK(t, sc)

	res.wantMount(t, "/ro", "ext4", []string{"ro"}, nil)
	res.wantErrno(t, "write", "/ro/new", unix.EROFS)
	res.wantErrno(t, "write", "/ro/sub/new", 0) // ro is not recursive
	res.wantErrno(t, "write", "/rro/new", unix.EROFS)
	res.wantErrno(t, "write", "/rro/sub/new", unix.EROFS)
	res.wantMount(t, "/rro/sub", "tmpfs", []string{"ro"}, nil)
	if hostExists(filepath.Join(src, "new")) || hostExists(filepath.Join(src, "sub", "new")) {
		t.Error("a write went through a read-only bind")
	}

	res.wantMount(t, "/flags", res.mount(t, "/flags").FSType, []string{"nosuid", "nodev", "noexec"}, nil)
	res.wantErrno(t, "access-x", "/flags/run.sh", unix.EACCES)
	res.wantErrno(t, "open-rw", "/flags/null", unix.EACCES)
	res.wantErrno(t, "access-x", "/rro/run.sh", 0)
	res.wantErrno(t, "open-rw", "/rro/null", 0)

	if p := res.probe(t, "read", "/etc/file-bind"); p.Content != "bound file" {
		t.Errorf("/etc/file-bind reads %q (%s)", p.Content, p.Err)
	}
	if p := res.probe(t, "lstat", "/etc/file-bind"); p.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("/etc/file-bind mode %o, want a regular file", p.Mode)
	}
	res.wantMount(t, "/etc/file-bind", "ext4", []string{"ro"}, nil)
	if p := res.probe(t, "read", "/rel/marker"); p.Content != "relative" {
		t.Errorf("relative bind source: /rel/marker reads %q (%s)", p.Content, p.Err)
	}
	if p := res.probe(t, "read", "/proc/cpuinfo"); p.Content != "lxcfs cpuinfo" {
		t.Errorf("lxcfs-style bind on /proc/cpuinfo reads %q (%s)", p.Content, p.Err)
	}

	if m := res.mount(t, "/shared"); !hasPrefixed(m.Optional, "shared:") {
		t.Errorf("/shared propagation %v, want shared", m.Optional)
	}
	if m := res.mount(t, "/unbindable"); !contains(m.Optional, "unbindable") {
		t.Errorf("/unbindable propagation %v, want unbindable", m.Optional)
	}

	res.wantMount(t, "/mytmp", "tmpfs", []string{"nodev"}, []string{"size=1024k", "mode=1770"})
	if p := res.probe(t, "lstat", "/mytmp"); p.Mode != unix.S_IFDIR|0o1770 {
		t.Errorf("/mytmp mode %o, want %o", p.Mode, unix.S_IFDIR|0o1770)
	}
	if p := res.probe(t, "statfs", "/mytmp"); p.FsType != unix.TMPFS_MAGIC || p.Size != 1<<20 {
		t.Errorf("/mytmp statfs type %#x size %d, want tmpfs of 1MiB", p.FsType, p.Size)
	}
	res.wantErrno(t, "write", "/mytmp/new", 0)
	if p := res.probe(t, "lstat", "/tmp"); p.Mode != unix.S_IFDIR|0o1777 {
		t.Errorf("tmpfs on /tmp has mode %o, want the directory's 1777", p.Mode)
	}
	res.wantMount(t, "/rotmp", "tmpfs", []string{"ro"}, nil)
	res.wantErrno(t, "write", "/rotmp/new", unix.EROFS)
	res.wantErrno(t, "write", "/newfile", 0)
}

// TestDevices: spec devices of every type with mode, uid and gid, a spec
// device overriding a default one, and nested device directories.
func TestDevices(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	mode := func(m os.FileMode) *os.FileMode { return &m }
	id := func(v uint32) *uint32 { return &v }
	b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/berth-null", Type: "c", Major: 1, Minor: 3, FileMode: mode(0o640), UID: id(1000), GID: id(1001)},
			{Path: "/dev/berth/nested/zero", Type: "u", Major: 1, Minor: 5, FileMode: mode(0o600)},
			{Path: "/dev/berth-fifo", Type: "p", FileMode: mode(0o620), GID: id(5)},
			{Path: "/dev/berth-loop", Type: "b", Major: 7, Minor: 200, FileMode: mode(0o660), GID: id(6)},
			{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: mode(0o600)},
		}
	})
	sc := &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, CgroupNS: true}
	sc.Probes = probes("lstat", "/dev/berth-null", "/dev/berth/nested/zero", "/dev/berth-fifo", "/dev/berth-loop", "/dev/null", "/dev/zero")
	sc.Probes = append(sc.Probes, probe{"open-rw", "/dev/berth-null"})
	res := runOK(t, sc)
	res.wantNode(t, "/dev/berth-null", unix.S_IFCHR, 0o640, 1000, 1001, 1, 3)
	res.wantNode(t, "/dev/berth/nested/zero", unix.S_IFCHR, 0o600, 0, 0, 1, 5)
	res.wantNode(t, "/dev/berth-fifo", unix.S_IFIFO, 0o620, 0, 5, 0, 0)
	res.wantNode(t, "/dev/berth-loop", unix.S_IFBLK, 0o660, 0, 6, 7, 200)
	res.wantNode(t, "/dev/null", unix.S_IFCHR, 0o600, 0, 0, 1, 3)
	res.wantNode(t, "/dev/zero", unix.S_IFCHR, 0o666, 0, 0, 1, 5)
	res.wantErrno(t, "open-rw", "/dev/berth-null", 0)
}

// TestDevicesBound: with Config.UserNS the nodes are the host's, bound onto
// empty files (FIFOs are still created).
func TestDevicesBound(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	mode := func(m os.FileMode) *os.FileMode { return &m }
	b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/berth-fifo", Type: "p", FileMode: mode(0o600)}}
	})
	sc := &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, CgroupNS: true, FakeUserNS: true}
	sc.Probes = append(probes("stat", "/dev/null", "/dev/urandom", "/dev/tty"), probe{"lstat", "/dev/berth-fifo"}, probe{"open-rw", "/dev/null"})
	res := runOK(t, sc)
	for _, d := range []struct {
		path         string
		major, minor uint32
	}{{"/dev/null", 1, 3}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}} {
		p := res.probe(t, "stat", d.path)
		if p.Mode&unix.S_IFMT != unix.S_IFCHR || p.Major != d.major || p.Minor != d.minor {
			t.Errorf("%s: mode %o rdev %d:%d, want the host's %d:%d", d.path, p.Mode, p.Major, p.Minor, d.major, d.minor)
		}
		res.wantMount(t, d.path, "devtmpfs", nil, nil)
	}
	res.wantErrno(t, "open-rw", "/dev/null", 0)
	res.wantNode(t, "/dev/berth-fifo", unix.S_IFIFO, 0o600, 0, 0, 0, 0)
}

// TestMaskedAndReadonlyPaths with paths of the test's choosing, including
// missing ones, on a writable root.
func TestMaskedAndReadonlyPaths(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Linux.MaskedPaths = []string{"/etc/hostname", "/root", "/home", "/does/not/exist"}
		s.Linux.ReadonlyPaths = []string{"/var", "/not/there"}
	})
	writeFile(t, filepath.Join(b.Rootfs(), "root", "secret"), "secret", 0o600)
	writeFile(t, filepath.Join(b.Rootfs(), "home", "user", "f"), "f", 0o644)
	writeFile(t, filepath.Join(b.Rootfs(), "var", "lib", "f"), "f", 0o644)
	sc := &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, CgroupNS: true}
	sc.Probes = append(probes("read", "/etc/hostname", "/var/lib/f"), probes("readdir", "/root", "/home")...)
	sc.Probes = append(sc.Probes, probes("mkdir", "/root/x", "/home/x")...)
	sc.Probes = append(sc.Probes, probes("write", "/var/x", "/var/lib/x", "/newfile", "/etc/hostname")...)
	res := runOK(t, sc)

	if p := res.probe(t, "read", "/etc/hostname"); p.Err != "" || p.Content != "" {
		t.Errorf("masked /etc/hostname reads %q (%s)", p.Content, p.Err)
	}
	for _, d := range []string{"/root", "/home"} {
		if p := res.probe(t, "readdir", d); p.Err != "" || len(p.Names) != 0 {
			t.Errorf("masked %s lists %v (%s)", d, p.Names, p.Err)
		}
		res.wantMount(t, d, "tmpfs", []string{"ro"}, nil)
		res.wantErrno(t, "mkdir", d+"/x", unix.EROFS)
	}
	res.wantMount(t, "/var", "ext4", []string{"ro"}, nil)
	res.wantErrno(t, "write", "/var/x", unix.EROFS)
	res.wantErrno(t, "write", "/var/lib/x", unix.EROFS)
	if p := res.probe(t, "read", "/var/lib/f"); p.Content != "f" {
		t.Errorf("read-only /var/lib/f reads %q (%s)", p.Content, p.Err)
	}
	res.wantErrno(t, "write", "/newfile", 0)
	if got, _ := os.ReadFile(filepath.Join(b.Rootfs(), "etc", "hostname")); string(got) != "berth\n" {
		t.Errorf("writing the masked /etc/hostname changed the rootfs file: %q", got)
	}
}

// TestNoPivot: MS_MOVE + chroot gives the same root.
func TestNoPivot(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	b := testutil.NewBundle(t, []string{"true"}, nil)
	sc := &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, CgroupNS: true, NoPivot: true}
	sc.Probes = append(probes("read", "/etc/hostname"), probe{"lstat", "/bin/busybox"}, probe{"write", "/x"}, probe{"lstat", "/dev/null"})
	res := runOK(t, sc)
	if p := res.probe(t, "read", "/etc/hostname"); p.Content != "berth\n" {
		t.Errorf("/etc/hostname reads %q (%s), want the rootfs's", p.Content, p.Err)
	}
	res.wantErrno(t, "lstat", "/bin/busybox", 0)
	res.wantErrno(t, "write", "/x", unix.EROFS)
	res.wantNode(t, "/dev/null", unix.S_IFCHR, 0o666, 0, 0, 1, 3)
	res.wantMount(t, "/proc", "proc", nil, nil)
	res.wantMount(t, "/", res.mount(t, "/").FSType, []string{"ro"}, nil)
}

// TestConsole binds a pty slave from the container's devpts to /dev/console.
func TestConsole(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	b := testutil.NewBundle(t, []string{"true"}, nil)
	res := runOK(t, &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, CgroupNS: true, Console: true})
	if res.ConsoleRdev == 0 || res.ConsoleRdev != res.SlaveRdev {
		t.Errorf("/dev/console rdev %#x, want the slave's %#x", res.ConsoleRdev, res.SlaveRdev)
	}
	res.wantMount(t, "/dev/console", "devpts", nil, nil)
}

// TestRootPropagation applies each Linux.RootfsPropagation.
func TestRootPropagation(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	for _, tt := range []struct {
		prop     string
		want     string // an optional field "/" must carry, or "" for none
		notShare bool
	}{
		{prop: "", notShare: true},
		{prop: "rprivate", notShare: true},
		{prop: "rslave", notShare: true},
		{prop: "shared", want: "shared:"},
		{prop: "rshared", want: "shared:"},
		{prop: "unbindable", want: "unbindable"},
	} {
		t.Run("prop="+tt.prop, func(t *testing.T) {
			t.Parallel()
			b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) { s.Linux.RootfsPropagation = tt.prop })
			res := runOK(t, &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, CgroupNS: true})
			root := res.mount(t, "/")
			if tt.want != "" && !hasPrefixed(root.Optional, tt.want) {
				t.Errorf("/ propagation %v, want %s", root.Optional, tt.want)
			}
			if tt.notShare && hasPrefixed(root.Optional, "shared:") {
				t.Errorf("/ propagation %v, want not shared", root.Optional)
			}
		})
	}
}

// TestSymlinkedDestinationsStayInside is the CVE-2021-30465 regression:
// destinations through symlinks pointing out of the rootfs (absolute and
// relative, existing and dangling) land inside it; the host is untouched.
func TestSymlinkedDestinationsStayInside(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	name := randomName(t)
	hostFile := filepath.Join(t.TempDir(), "file")
	writeFile(t, hostFile, "bound", 0o644)
	b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/evil/" + name, Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/evil-etc/" + name, Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/evil-rel/" + name, Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/evil-file", Type: "bind", Source: hostFile, Options: []string{"bind"}},
			specs.Mount{Destination: "/evil-dir", Type: "bind", Source: filepath.Dir(hostFile), Options: []string{"bind"}},
		)
	})
	r := b.Rootfs()
	for link, target := range map[string]string{
		"evil":      "/",
		"evil-etc":  "/etc",
		"evil-rel":  "../../../../../../../../../tmp",
		"evil-file": "/etc/" + name + "-file",
		"evil-dir":  "/../../../../var/" + name + "-dir",
	} {
		if err := os.Symlink(target, filepath.Join(r, link)); err != nil {
			t.Fatal(err)
		}
	}
	hostPaths := []string{"/" + name, "/etc/" + name, "/tmp/" + name, "/etc/" + name + "-file", "/var/" + name + "-dir"}
	for _, p := range hostPaths {
		if hostExists(p) {
			t.Fatalf("%s exists on the host before the test", p)
		}
	}
	sc := &scenario{Rootfs: r, Spec: b.Spec, CgroupNS: true}
	sc.Probes = probes("read", "/etc/"+name+"-file", "/evil-file", "/var/"+name+"-dir/file")
	res := runOK(t, sc)
	for _, p := range hostPaths {
		if hostExists(p) {
			t.Errorf("%s was created on the host", p)
			os.RemoveAll(p)
		}
	}
	for _, p := range []string{name, "etc/" + name, "tmp/" + name, "etc/" + name + "-file", "var/" + name + "-dir"} {
		if !hostExists(filepath.Join(r, p)) {
			t.Errorf("%s was not created inside the rootfs", p)
		}
	}
	for _, mp := range []string{"/" + name, "/etc/" + name, "/tmp/" + name} {
		res.wantMount(t, mp, "tmpfs", nil, nil)
	}
	for _, p := range []string{"/etc/" + name + "-file", "/evil-file", "/var/" + name + "-dir/file"} {
		if got := res.probe(t, "read", p); got.Content != "bound" {
			t.Errorf("%s reads %q (%s), want the bound file", p, got.Content, got.Err)
		}
	}
}

// TestRefusedMounts: each setup must fail in Prepare with a clear error, and
// mount errors name the mount.
func TestRefusedMounts(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	mode := func(m os.FileMode) *os.FileMode { return &m }
	tests := []struct {
		name    string
		mounts  []specs.Mount
		edit    func(s *specs.Spec)
		rootfs  func(t *testing.T, rootfs string)
		fakeNS  bool
		want    []string
		skipNot bool // the error is not about one mount
	}{
		{
			name:   "bind over /proc/self",
			mounts: []specs.Mount{{Destination: "/proc/self", Type: "bind", Source: "/tmp", Options: []string{"rbind"}}},
			want:   []string{"mount /tmp on /proc/self:", "inside /proc", "cannot reach host paths"},
		},
		{
			name:   "tmpfs under /proc through a symlink",
			mounts: []specs.Mount{{Destination: "/to-proc/sys", Type: "tmpfs", Source: "tmpfs"}},
			rootfs: func(t *testing.T, r string) { symlink(t, "proc", filepath.Join(r, "to-proc")) },
			want:   []string{"mount tmpfs on /to-proc/sys:", "/proc/sys is inside /proc"},
		},
		{
			name:   "symlinked /proc",
			rootfs: func(t *testing.T, r string) { replaceWithSymlink(t, "tmp", filepath.Join(r, "proc")) },
			want:   []string{"mount proc on /proc:", "real directory", "/proc is a symlink"},
		},
		{
			name:   "proc through a symlinked parent",
			mounts: []specs.Mount{{Destination: "/p/proc", Type: "proc", Source: "proc"}},
			rootfs: func(t *testing.T, r string) { symlink(t, "tmp", filepath.Join(r, "p")) },
			want:   []string{"mount proc on /p/proc:", "goes through a symlink to /tmp/proc"},
		},
		{
			name: "sysfs on /proc",
			edit: func(s *specs.Spec) { s.Mounts[0] = specs.Mount{Destination: "/proc", Type: "sysfs", Source: "sysfs"} },
			want: []string{"only a proc filesystem"},
		},
		{
			name: "bind of a non-proc directory on /proc",
			edit: func(s *specs.Spec) {
				s.Mounts[0] = specs.Mount{Destination: "/proc", Type: "bind", Source: "/tmp", Options: []string{"rbind"}}
			},
			want: []string{"mount /tmp on /proc:", "only a proc filesystem"},
		},
		{
			name:   "destination resolving to the root",
			mounts: []specs.Mount{{Destination: "/evil", Type: "tmpfs", Source: "tmpfs"}},
			rootfs: func(t *testing.T, r string) { symlink(t, "/", filepath.Join(r, "evil")) },
			want:   []string{"mount tmpfs on /evil:", "container's root"},
		},
		{
			name:   "the root itself",
			mounts: []specs.Mount{{Destination: "/", Type: "tmpfs", Source: "tmpfs"}},
			want:   []string{"over the container's root"},
		},
		{
			name:   "idmapped",
			mounts: []specs.Mount{{Destination: "/x", Type: "bind", Source: "/tmp", Options: []string{"rbind", "idmap"}}},
			want:   []string{"mount /tmp on /x:", "idmapped mounts are not supported"},
		},
		{
			name:   "no type",
			mounts: []specs.Mount{{Destination: "/x", Source: "none"}},
			want:   []string{"mount none on /x:", "no type and no bind option"},
		},
		{
			name:   "missing bind source",
			mounts: []specs.Mount{{Destination: "/x", Type: "bind", Source: "/nonexistent-berth-source", Options: []string{"bind"}}},
			want:   []string{"bind source", "no such file"},
		},
		{
			name: "bad device type",
			edit: func(s *specs.Spec) {
				s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "q", FileMode: mode(0o600)}}
			},
			want:    []string{"device /dev/x", "unknown type"},
			skipNot: true,
		},
		{
			name: "bound device missing on the host",
			edit: func(s *specs.Spec) {
				s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/berth-no-such-node", Type: "c", Major: 1, Minor: 3}}
			},
			fakeNS:  true,
			want:    []string{"device /dev/berth-no-such-node", "host node"},
			skipNot: true,
		},
		{
			name:    "bad rootfs propagation",
			edit:    func(s *specs.Spec) { s.Linux.RootfsPropagation = "sideways" },
			want:    []string{"rootfs propagation", "sideways"},
			skipNot: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, tt.mounts...)
				if tt.edit != nil {
					tt.edit(s)
				}
			})
			if tt.rootfs != nil {
				tt.rootfs(t, b.Rootfs())
			}
			res := run(t, &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, CgroupNS: true, FakeUserNS: tt.fakeNS})
			if res.Stage != "prepare" {
				t.Fatalf("stage %q (%s), want a Prepare error", res.Stage, res.Err)
			}
			t.Logf("refused: %s", res.Err)
			for _, w := range tt.want {
				if !strings.Contains(res.Err, w) {
					t.Errorf("error %q lacks %q", res.Err, w)
				}
			}
			if !tt.skipNot && !strings.HasPrefix(res.Err, "mount ") {
				t.Errorf("error %q does not name the mount", res.Err)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func replaceWithSymlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	symlink(t, target, path)
}

// TestUserNamespace runs the default spec in a real user namespace without
// network or cgroup namespaces: devices are bound, sysfs falls back to a
// bind of /sys, cgroups to binds of the host's hierarchies, and a bind of a
// source with locked nosuid,nodev gets "ro" while keeping them.
func requiresUserNS(t *testing.T) {
	data, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if err != nil || strings.TrimSpace(string(data)) == "0" {
		t.Skip("user namespaces are not available")
	}
}

func TestUserNamespace(t *testing.T) {
	testutil.RequiresRoot(t)
	requiresUserNS(t)
	t.Parallel()
	locked := t.TempDir()
	lines := hostCgroups(t)
	b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/locked", Type: "bind", Source: locked, Options: []string{"rbind", "ro"}},
		)
	})
	sc := &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, UserNS: true, PreTmpfs: []string{locked}}
	sc.Probes = append(probes("stat", "/dev/null", "/dev/zero"), probes("write", "/locked/x", "/x", "/proc/sys/kernel/hostname", "/dev/shm/x")...)
	sc.Probes = append(sc.Probes, cgroupProbes(lines)...)
	res := runOK(t, sc)
	for _, d := range []string{"/dev/null", "/dev/zero"} {
		res.wantMount(t, d, "devtmpfs", nil, nil)
	}
	if p := res.probe(t, "stat", "/dev/zero"); p.Major != 1 || p.Minor != 5 {
		t.Errorf("/dev/zero rdev %d:%d", p.Major, p.Minor)
	}
	res.wantMount(t, "/sys", "sysfs", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
	res.wantMount(t, "/locked", "tmpfs", []string{"ro", "nosuid", "nodev"}, nil)
	res.wantErrno(t, "write", "/locked/x", unix.EROFS)
	res.wantErrno(t, "write", "/x", unix.EROFS)
	res.wantErrno(t, "write", "/proc/sys/kernel/hostname", unix.EROFS)
	res.wantErrno(t, "write", "/dev/shm/x", 0)
	checkCgroupView(t, res, lines, false)
}

// TestUserNamespaceLockedFlag: asking to clear a locked flag is refused.
func TestUserNamespaceLockedFlag(t *testing.T) {
	testutil.RequiresRoot(t)
	requiresUserNS(t)
	t.Parallel()
	locked := t.TempDir()
	b := testutil.NewBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/locked", Type: "bind", Source: locked, Options: []string{"rbind", "suid"}},
		)
	})
	res := run(t, &scenario{Rootfs: b.Rootfs(), Spec: b.Spec, UserNS: true, CgroupNS: true, PreTmpfs: []string{locked}})
	if res.Stage != "prepare" || !strings.Contains(res.Err, "cannot clear locked flags nosuid") {
		t.Fatalf("stage %q error %q, want a Prepare error about the locked nosuid", res.Stage, res.Err)
	}
}

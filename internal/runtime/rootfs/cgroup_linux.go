package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// hostCgroupRoot is where the host mounts its cgroup hierarchies; it is read
// (statfs, and as a bind source in the fallback), never changed.
const hostCgroupRoot = "/sys/fs/cgroup"

// cgroupLine is one line of /proc/self/cgroup.
type cgroupLine struct {
	// dir is the directory the hierarchy gets under the cgroup mount:
	// "cpu,cpuacct", "systemd" (for name=systemd); "" for the unified one.
	dir string
	// controllers are the v1 controllers ("cpu", "cpuacct"); name is the
	// named hierarchy's name ("systemd").
	controllers []string
	name        string
	// path is the process's cgroup, relative to its cgroup namespace root.
	path string
}

// parseProcCgroup parses /proc/self/cgroup: "ID:CONTROLLERS:PATH" per line,
// where ID 0 with no controllers is the unified (v2) hierarchy.
func parseProcCgroup(data string) ([]cgroupLine, error) {
	var out []cgroupLine
	for _, line := range strings.Split(data, "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("/proc/self/cgroup: malformed line %q", line)
		}
		l := cgroupLine{path: parts[2]}
		if parts[1] != "" {
			var names []string
			for _, c := range strings.Split(parts[1], ",") {
				if n, ok := strings.CutPrefix(c, "name="); ok {
					l.name = n
					names = append(names, n)
				} else {
					l.controllers = append(l.controllers, c)
					names = append(names, c)
				}
			}
			l.dir = strings.Join(names, ",")
		}
		out = append(out, l)
	}
	return out, nil
}

// links are the symlinks a co-mounted hierarchy gets beside its directory:
// "cpu" and "cpuacct" -> "cpu,cpuacct".
func (l *cgroupLine) links() []string {
	names := strings.Split(l.dir, ",")
	if len(names) < 2 {
		return nil
	}
	return names
}

// cgroupFallback says err from the new mount API means "bind the host's
// hierarchy instead": EPERM in a user namespace that does not own the cgroup
// namespace, ENOSYS or EINVAL (cloning a detached mount) on older kernels.
func cgroupFallback(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL)
}

// mountCgroup mounts the container's cgroup view at dest. It never mounts
// over, remounts or otherwise changes the host's hierarchies: each view is a
// new mount made with fsopen/fsmount (with CgroupNS the kernel roots it at
// the namespace, without it the container's own directory is cloned out of
// it), or, when the kernel refuses that, a bind of the container's directory
// under /sys/fs/cgroup.
func (s *setup) mountCgroup(dest string, o *mountOpts) error {
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupRoot, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", hostCgroupRoot, err)
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	lines, err := parseProcCgroup(string(data))
	if err != nil {
		return err
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return s.mountCgroup2(dest, o, lines)
	}
	return s.mountCgroup1(dest, o, lines)
}

func (s *setup) mountCgroup2(dest string, o *mountOpts, lines []cgroupLine) error {
	var self *cgroupLine
	for i := range lines {
		if lines[i].dir == "" {
			self = &lines[i]
		}
	}
	if self == nil {
		return errors.New("no unified hierarchy in /proc/self/cgroup")
	}
	mp, err := s.openMountpoint(dest, false)
	if err != nil {
		return err
	}
	defer mp.f.Close()
	if err := s.checkProc(mp.path, "cgroup2", ""); err != nil {
		return err
	}
	return s.attachCgroup("cgroup2", self, mp, o)
}

// mountCgroup1 mounts a writable tmpfs at dest (nosuid,nodev,noexec,
// mode=755) holding one directory per v1 hierarchy, each with the view of
// that hierarchy and the mount's flags (so "ro" makes the hierarchies
// read-only, not the tmpfs), plus the co-mount symlinks: what runc does.
func (s *setup) mountCgroup1(dest string, o *mountOpts, lines []cgroupLine) error {
	tmpfs := mountOpts{
		set:         unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
		data:        []string{"mode=755"},
		propagation: o.propagation,
	}
	if err := s.mountFS("tmpfs", "tmpfs", dest, &tmpfs); err != nil {
		return err
	}
	dirMP, err := s.openMountpoint(dest, false)
	if err != nil {
		return err
	}
	defer dirMP.f.Close()
	dir := int(dirMP.f.Fd())
	for i := range lines {
		l := &lines[i]
		if l.dir == "" {
			continue // the unified hierarchy of a hybrid host: not shown, as with runc
		}
		if strings.Contains(l.dir, "/") || l.dir == "." || l.dir == ".." {
			return fmt.Errorf("/proc/self/cgroup: bad hierarchy name %q", l.dir)
		}
		if err := unix.Mkdirat(dir, l.dir, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s/%s: %w", dest, l.dir, err)
		}
		fd, err := unix.Openat(dir, l.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s/%s: %w", dest, l.dir, err)
		}
		sub := &mountpoint{f: os.NewFile(uintptr(fd), dest+"/"+l.dir), path: dirMP.path + "/" + l.dir}
		err = s.attachCgroup("cgroup", l, sub, o)
		sub.f.Close()
		if err != nil {
			return fmt.Errorf("mount cgroup %s on %s/%s: %w", l.dir, dest, l.dir, err)
		}
		for _, n := range l.links() {
			if err := unix.Symlinkat(l.dir, dir, n); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("symlink %s/%s: %w", dest, n, err)
			}
		}
	}
	return nil
}

// attachCgroup mounts one hierarchy's view of the container's cgroup on mp.
func (s *setup) attachCgroup(fstype string, l *cgroupLine, mp *mountpoint, o *mountOpts) error {
	attrs := mountAttrs(o.set)
	err := newCgroupMount(fstype, l, attrs, mp.f, s.cfg.CgroupNS)
	if err != nil && !s.cfg.CgroupNS && cgroupFallback(err) {
		return s.bindHostCgroup(fstype, l, mp, o)
	}
	if err != nil {
		return err
	}
	return s.afterMount(mp, &mountOpts{propagation: o.propagation}, nil)
}

// newCgroupMount creates a fresh mount of the hierarchy (the same superblock
// the host uses; nothing of the host's mounts is touched) with the given
// MOUNT_ATTR_* flags and moves it, or the container's directory cloned out of
// it, onto target.
func newCgroupMount(fstype string, l *cgroupLine, attrs int, target *os.File, cgroupns bool) error {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen %s: %w", fstype, err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "source", fstype); err != nil {
		return fmt.Errorf("fsconfig source: %w", err)
	}
	for _, c := range l.controllers {
		if err := unix.FsconfigSetFlag(fsfd, c); err != nil {
			return fmt.Errorf("fsconfig %s: %w", c, err)
		}
	}
	if l.name != "" {
		if err := unix.FsconfigSetString(fsfd, "name", l.name); err != nil {
			return fmt.Errorf("fsconfig name=%s: %w", l.name, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("fsconfig create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mfd)
	from := mfd
	// In its own cgroup namespace the mount's root already is the
	// container's cgroup; otherwise it is the caller's namespace root and the
	// container's directory is cloned out of it.
	if rel := strings.TrimPrefix(filepath.Clean(l.path), "/"); !cgroupns && rel != "" {
		tfd, err := unix.OpenTree(mfd, rel, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return fmt.Errorf("open_tree %s: %w", l.path, err)
		}
		defer unix.Close(tfd)
		from = tfd
	}
	if err := unix.MoveMount(from, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// bindHostCgroup binds the container's directory of the host's hierarchy,
// found at its conventional place under /sys/fs/cgroup, onto mp.
func (s *setup) bindHostCgroup(fstype string, l *cgroupLine, mp *mountpoint, o *mountOpts) error {
	base, want := hostCgroupRoot, int64(unix.CGROUP2_SUPER_MAGIC)
	if fstype == "cgroup" {
		base, want = filepath.Join(hostCgroupRoot, l.dir), unix.CGROUP_SUPER_MAGIC
	}
	var st unix.Statfs_t
	if err := unix.Statfs(base, &st); err != nil || int64(st.Type) != want {
		return fmt.Errorf("no %s hierarchy mounted at %s to bind from", fstype, base)
	}
	src, err := pathrs.OpenInRoot(base, l.path)
	if err != nil {
		return fmt.Errorf("open %s%s: %w", base, l.path, err)
	}
	defer src.Close()
	if err := unix.Mount(fdPath(src), fdPath(mp.f), "", unix.MS_BIND, ""); err != nil {
		return err
	}
	b := *o
	b.set |= unix.MS_BIND
	return s.afterMount(mp, &b, func(top *os.File) error { return remountBind(top, &b) })
}

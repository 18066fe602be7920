package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// procAllowed are the only paths under /proc a mount may cover: the files
// lxcfs emulates so that top, free and friends show the container's numbers.
var procAllowed = map[string]bool{
	"/proc/cpuinfo":                true,
	"/proc/diskstats":              true,
	"/proc/meminfo":                true,
	"/proc/stat":                   true,
	"/proc/swaps":                  true,
	"/proc/uptime":                 true,
	"/proc/loadavg":                true,
	"/proc/slabinfo":               true,
	"/proc/net/dev":                true,
	"/proc/sys/kernel/ns_last_pid": true,
}

// Prepare runs before Pivot, inside the init's new mount namespace: it sets
// the propagation of "/" (rslave unless Linux.RootfsPropagation says
// otherwise), bind-mounts Rootfs onto itself, performs every spec mount under
// it in order and, unless /dev is a bind mount, creates the default and spec
// devices, /dev/ptmx -> pts/ptmx and the /dev/fd, stdin, stdout, stderr (and
// core) symlinks. Read-only tmpfs and /dev mounts stay writable until Finish
// so that later steps can fill them.
//
// With NoMountNS the init shares the runtime's mount namespace: the
// propagation of "/" and of the mount holding Rootfs is left alone, the bind
// of Rootfs onto itself is made rprivate (so nothing mounted under it reaches
// any other mount), and if Prepare fails that bind, with everything under it,
// is detached again before it returns.
//
// Errors name the mount that failed: "mount SRC on DST: ...". A destination
// that resolves outside the rootfs, onto its root, or into /proc (other than
// the lxcfs files) is refused; proc and sysfs must go on real directories.
func Prepare(cfg *Config) (err error) {
	if err := cfg.check(); err != nil {
		return err
	}
	prop, err := parsePropagation(cfg.rootPropagation())
	if err != nil {
		return err
	}
	if cfg.NoMountNS {
		err = bindRootInHostNS(cfg.Rootfs)
	} else {
		err = bindRoot(cfg.Rootfs, prop)
	}
	if err != nil {
		return err
	}
	s, err := newSetup(cfg)
	if err != nil {
		if cfg.NoMountNS {
			_ = unix.Unmount(cfg.Rootfs, unix.MNT_DETACH)
		}
		return err
	}
	defer s.close()
	if cfg.NoMountNS {
		defer func() {
			if err != nil {
				// s.root is the bind itself: detach exactly that mount,
				// whatever was stacked on the path meanwhile.
				_ = unix.Unmount(fdPath(s.root), unix.MNT_DETACH)
			}
		}()
	}
	for _, m := range cfg.Spec.Mounts {
		if err := s.mount(m); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
	}
	if !bindsDev(cfg.Spec) {
		if err := s.makeDevices(); err != nil {
			return err
		}
		if err := s.devLinks(); err != nil {
			return err
		}
	}
	return nil
}

// bindRoot prepares a root in the init's own mount namespace: "/" gets prop
// (rslave when 0), the mount holding rootfs is made private or slave, and
// rootfs is bound onto itself so that it is a mount point pivot_root accepts.
func bindRoot(rootfs string, prop uintptr) error {
	if prop == 0 {
		prop = unix.MS_SLAVE | unix.MS_REC
	}
	if err := unix.Mount("", "/", "", prop, ""); err != nil {
		return fmt.Errorf("set propagation of /: %w", err)
	}
	if err := privatizeParent(rootfs, prop); err != nil {
		return err
	}
	if err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", rootfs, rootfs, err)
	}
	return nil
}

// bindRootInHostNS prepares a root in a mount namespace the container shares
// with the runtime (NoMountNS). No existing mount's propagation changes: the
// bind of rootfs onto itself is the only mount event other namespaces can
// receive (when the mount holding rootfs is shared), and it is made rprivate
// at once, before anything is mounted under it. Being a bind of a possibly
// shared mount it starts as a peer of that mount; rprivate takes it and the
// copies of the submounts it carries out of every peer group, and touches
// nothing else, since MS_REC follows the new bind's own tree.
func bindRootInHostNS(rootfs string) error {
	if err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", rootfs, rootfs, err)
	}
	if err := unix.Mount("", rootfs, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		_ = unix.Unmount(rootfs, unix.MNT_DETACH)
		return fmt.Errorf("make the bind of %s rprivate: %w", rootfs, err)
	}
	return nil
}

// privatizeParent makes the mount holding rootfs private (slave when "/" was
// made a slave): pivot_root refuses a shared parent, and the bind of the
// rootfs onto itself must not propagate back to the host.
func privatizeParent(rootfs string, rootProp uintptr) error {
	flag := uintptr(unix.MS_PRIVATE)
	if rootProp&unix.MS_SLAVE != 0 {
		flag = unix.MS_SLAVE
	}
	for p := rootfs; ; p = filepath.Dir(p) {
		err := unix.Mount("", p, "", flag, "")
		if err == nil {
			return nil
		}
		// EINVAL: p is not a mount point; try its parent.
		if !errors.Is(err, unix.EINVAL) || p == "/" {
			return fmt.Errorf("set propagation of the mount holding %s (at %s): %w", rootfs, p, err)
		}
	}
}

// bindsDev reports whether the spec bind-mounts /dev, in which case the
// container's /dev is the caller's business (runc's rule).
func bindsDev(spec *specs.Spec) bool {
	for _, m := range spec.Mounts {
		if cleanDest(m.Destination) != "/dev" {
			continue
		}
		if m.Type == "bind" {
			return true
		}
		for _, o := range m.Options {
			if o == "bind" || o == "rbind" {
				return true
			}
		}
	}
	return false
}

// cleanDest makes a spec destination absolute and clean; the spec requires
// absolute paths, and runc treats relative ones as relative to "/".
func cleanDest(d string) string { return filepath.Clean("/" + d) }

func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// setup is the state of one Prepare.
type setup struct {
	cfg *Config
	// root is an O_PATH handle on the rootfs bind; every destination is
	// resolved from it.
	root *os.File
	// rootPath is root's real path (Rootfs with any host symlinks resolved),
	// the prefix every mountpoint's real path must carry.
	rootPath string
	// dirs caches directory handles (see dir).
	dirs map[string]*os.File
}

func newSetup(cfg *Config) (*setup, error) {
	root, err := os.OpenFile(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs: %w", err)
	}
	p, err := os.Readlink(fdPath(root))
	if err == nil && p == "/" {
		err = errors.New("it resolves to the host's /")
	}
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("rootfs %s: %w", cfg.Rootfs, err)
	}
	return &setup{cfg: cfg, root: root, rootPath: p}, nil
}

// inRoot turns a real host path under rootPath into the container's path.
func (s *setup) inRoot(real string) string { return strings.TrimPrefix(real, s.rootPath) }

// mountpoint is an O_PATH handle on a mount destination and the real path it
// names (always below rootPath).
type mountpoint struct {
	f       *os.File
	path    string
	created bool
}

// realPath reads where handle f really is and refuses anything that is not
// strictly inside the rootfs.
func (s *setup) realPath(f *os.File) (string, error) {
	p, err := os.Readlink(fdPath(f))
	if err != nil {
		return "", err
	}
	if p == s.rootPath {
		return "", errors.New("destination resolves to the container's root")
	}
	if !strings.HasPrefix(p, s.rootPath+"/") {
		return "", fmt.Errorf("destination resolves to %s, outside the rootfs", p)
	}
	return p, nil
}

// openMountpoint opens dest inside the rootfs, following symlinks as if the
// rootfs were "/", and creates it when missing: a file when file is set (for
// file bind mounts), else a directory.
func (s *setup) openMountpoint(dest string, file bool) (*mountpoint, error) {
	f, err := s.openInRoot(dest)
	created := false
	if errors.Is(err, unix.ENOENT) {
		f, err = s.create(dest, file)
		created = true
	}
	if err != nil {
		return nil, fmt.Errorf("open destination: %w", err)
	}
	p, err := s.realPath(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &mountpoint{f: f, path: p, created: created}, nil
}

// create makes a missing destination. SecureJoin resolves dangling symlinks
// inside the rootfs (so "/evil/x" with evil -> /etc becomes rootfs/etc/x);
// the directories are then made with handles that cannot leave the root.
func (s *setup) create(dest string, file bool) (*os.File, error) {
	joined, err := securejoin.SecureJoin(s.rootPath, dest)
	if err != nil {
		return nil, err
	}
	rel := s.inRoot(joined)
	if !file {
		return s.mkdirInRoot(rel)
	}
	dir, err := s.mkdirInRoot(filepath.Dir(rel))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	base := filepath.Base(rel)
	// mknod of a regular file creates it without following a symlink that
	// may have raced in, and without opening anything.
	if err := unix.Mknodat(int(dir.Fd()), base, unix.S_IFREG|0o644, 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	fd, err := unix.Openat(int(dir.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir.Name(), base))
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		f.Close()
		return nil, fmt.Errorf("%s became a symlink while it was created", rel)
	}
	return f, nil
}

// reopen opens the top of the mount just made on mp: mp.f still names the
// covered directory, while remounts and propagation changes must reach the
// new mount. The path must not have moved meanwhile.
func (s *setup) reopen(mp *mountpoint) (*os.File, error) {
	top, err := s.openInRoot(s.inRoot(mp.path))
	if err != nil {
		return nil, fmt.Errorf("reopen destination: %w", err)
	}
	if p, err := os.Readlink(fdPath(top)); err != nil || p != mp.path {
		top.Close()
		return nil, fmt.Errorf("destination %s moved while it was mounted on", s.inRoot(mp.path))
	}
	return top, nil
}

// checkProc refuses mounts that would cover /proc or a path under it: a
// container must not reach host paths through /proc. /proc itself takes only
// a proc filesystem (or a bind of one); under it only the lxcfs files are
// allowed.
func (s *setup) checkProc(real, fstype, bindSrc string) error {
	rel := s.inRoot(real)
	if rel != "/proc" && !strings.HasPrefix(rel, "/proc/") {
		return nil
	}
	if rel == "/proc" {
		if fstype == "proc" {
			return nil
		}
		var st unix.Statfs_t
		if bindSrc != "" && unix.Statfs(bindSrc, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC {
			return nil
		}
		return errors.New("only a proc filesystem may be mounted on /proc")
	}
	if procAllowed[rel] {
		return nil
	}
	return fmt.Errorf("%s is inside /proc: a container cannot reach host paths through /proc", rel)
}

func (s *setup) mount(m specs.Mount) error {
	o, err := parseOptions(m.Options)
	if err != nil {
		return err
	}
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		return errors.New("idmapped mounts are not supported")
	}
	dest := cleanDest(m.Destination)
	if dest == "/" {
		return errors.New("cannot mount over the container's root")
	}
	if m.Type == "bind" {
		o.set |= unix.MS_BIND
	}
	switch {
	case o.bind():
		return s.bind(m.Source, dest, &o)
	case m.Type == "proc" || m.Type == "sysfs":
		return s.mountProcSys(m.Type, m.Source, dest, &o)
	case m.Type == "cgroup":
		return s.mountCgroup(dest, &o)
	case m.Type == "":
		return errors.New("no type and no bind option")
	}
	return s.mountFS(m.Type, m.Source, dest, &o)
}

// delayRO reports whether a mount stays writable until Finish: tmpfs mounts
// and /dev, which later steps may need to fill (runc's rule).
func delayRO(fstype, dest string) bool { return fstype == "tmpfs" || dest == "/dev" }

// mountFS mounts a new filesystem (tmpfs, devpts, mqueue, overlay, ...).
func (s *setup) mountFS(fstype, src, dest string, o *mountOpts) error {
	mp, err := s.openMountpoint(dest, false)
	if err != nil {
		return err
	}
	defer mp.f.Close()
	if err := s.checkProc(mp.path, fstype, ""); err != nil {
		return err
	}
	oo := *o
	if delayRO(fstype, dest) {
		oo.set &^= unix.MS_RDONLY
		oo.recSet &^= unix.MOUNT_ATTR_RDONLY
	}
	flags := oo.set &^ (unix.MS_BIND | unix.MS_REC)
	data := oo.dataString()
	if fstype == "tmpfs" && !mp.created {
		// A tmpfs over an existing directory keeps that directory's mode
		// unless the options give one (the later mode= wins).
		var st unix.Stat_t
		if err := unix.Fstat(int(mp.f.Fd()), &st); err != nil {
			return err
		}
		mode := "mode=" + strconv.FormatUint(uint64(st.Mode&0o7777), 8)
		if data == "" {
			data = mode
		} else {
			data = mode + "," + data
		}
	}
	if err := unix.Mount(src, fdPath(mp.f), fstype, flags, data); err != nil {
		return err
	}
	return s.afterMount(mp, &oo, nil)
}

// afterMount applies what mount(2) cannot do in the same call: a bind
// remount (when remount is set), then each propagation change, then the
// recursive attributes.
func (s *setup) afterMount(mp *mountpoint, o *mountOpts, remount func(top *os.File) error) error {
	if remount == nil && len(o.propagation) == 0 && !o.rec {
		return nil
	}
	top, err := s.reopen(mp)
	if err != nil {
		return err
	}
	defer top.Close()
	if remount != nil {
		if err := remount(top); err != nil {
			return err
		}
	}
	for _, p := range o.propagation {
		if err := unix.Mount("", fdPath(top), "", p, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	if o.rec {
		attr := unix.MountAttr{Attr_set: o.recSet, Attr_clr: o.recClr}
		if err := unix.MountSetattr(int(top.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("set recursive mount attributes: %w", err)
		}
	}
	return nil
}

// bind bind-mounts src (relative to Config.Bundle, or to the working
// directory) on dest, then applies flags with a bind remount, since MS_BIND
// ignores them.
func (s *setup) bind(src, dest string, o *mountOpts) error {
	if !filepath.IsAbs(src) {
		base := s.cfg.Bundle
		if base == "" {
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			base = wd
		}
		src = filepath.Join(base, src)
	}
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	mp, err := s.openMountpoint(dest, st.Mode&unix.S_IFMT != unix.S_IFDIR)
	if err != nil {
		return err
	}
	defer mp.f.Close()
	if err := s.checkProc(mp.path, "", src); err != nil {
		return err
	}
	if err := unix.Mount(src, fdPath(mp.f), "", unix.MS_BIND|o.set&unix.MS_REC, ""); err != nil {
		return err
	}
	var remount func(*os.File) error
	if o.set&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) != 0 || o.clear != 0 {
		remount = func(top *os.File) error { return remountBind(top, o) }
	}
	return s.afterMount(mp, o, remount)
}

// lockable are the flags the kernel locks on mounts inherited from a more
// privileged mount namespace; a bind remount may not clear them.
const lockable = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// remountBind sets the requested flags on a fresh bind mount. When that
// fails with EPERM the source carries locked flags (a user namespace): read
// them with statfs and ask again with them kept, unless the caller asked to
// clear one of them, which cannot be honoured.
func remountBind(top *os.File, o *mountOpts) error {
	flags := unix.MS_REMOUNT | unix.MS_BIND | o.set&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT)
	err := unix.Mount("", fdPath(top), "", flags, "")
	if !errors.Is(err, unix.EPERM) {
		if err != nil {
			return fmt.Errorf("remount %s: %w", flagNames(flags), err)
		}
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(top.Fd()), &st); err != nil {
		return err
	}
	cur := statfsFlags(&st) & lockable
	if c := cur & o.clear; c != 0 {
		return fmt.Errorf("cannot clear locked flags %s: %w", flagNames(c), err)
	}
	flags |= cur
	if err := unix.Mount("", fdPath(top), "", flags, ""); err != nil {
		return fmt.Errorf("remount %s (keeping locked flags): %w", flagNames(flags), err)
	}
	return nil
}

// mountProcSys mounts proc or sysfs. Their destination must be a real
// directory reached without any symlink: a symlinked /proc is how several
// runtime escapes started.
func (s *setup) mountProcSys(fstype, src, dest string, o *mountOpts) error {
	lexical := s.rootPath + dest
	if fi, err := os.Lstat(lexical); err == nil && !fi.IsDir() {
		what := "not a directory"
		if fi.Mode()&os.ModeSymlink != 0 {
			what = "a symlink"
		}
		return fmt.Errorf("%s must be mounted on a real directory, %s is %s", fstype, dest, what)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := s.mkdirInRoot(dest)
	if err != nil {
		return fmt.Errorf("open destination: %w", err)
	}
	defer f.Close()
	real, err := os.Readlink(fdPath(f))
	if err != nil {
		return err
	}
	if real != lexical {
		return fmt.Errorf("%s must be mounted on a real directory, %s goes through a symlink to %s", fstype, dest, s.inRoot(real))
	}
	if err := s.checkProc(real, fstype, ""); err != nil {
		return err
	}
	err = unix.Mount(src, fdPath(f), fstype, o.set&^(unix.MS_BIND|unix.MS_REC), o.dataString())
	if fstype == "sysfs" && errors.Is(err, unix.EPERM) && s.cfg.UserNS {
		// A user namespace that does not own its network namespace may not
		// mount sysfs: show the host's /sys instead, as runc does.
		b := *o
		b.set |= unix.MS_BIND | unix.MS_REC
		return s.bind("/sys", dest, &b)
	}
	if err != nil {
		return err
	}
	return s.afterMount(&mountpoint{f: f, path: real}, o, nil)
}

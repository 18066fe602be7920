package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// device is a node to create under the rootfs.
type device struct {
	path         string // in the container, clean and absolute
	kind         uint32 // S_IFCHR, S_IFBLK or S_IFIFO
	major, minor uint32
	mode         uint32 // permission bits
	uid, gid     uint32
}

// defaultDevices are the runtime-spec's default devices (/dev/ptmx aside,
// which becomes a symlink into the container's devpts, and /dev/console,
// which BindConsole provides).
var defaultDevices = []device{
	{path: "/dev/null", kind: unix.S_IFCHR, major: 1, minor: 3, mode: 0o666},
	{path: "/dev/zero", kind: unix.S_IFCHR, major: 1, minor: 5, mode: 0o666},
	{path: "/dev/full", kind: unix.S_IFCHR, major: 1, minor: 7, mode: 0o666},
	{path: "/dev/random", kind: unix.S_IFCHR, major: 1, minor: 8, mode: 0o666},
	{path: "/dev/urandom", kind: unix.S_IFCHR, major: 1, minor: 9, mode: 0o666},
	{path: "/dev/tty", kind: unix.S_IFCHR, major: 5, minor: 0, mode: 0o666},
}

// deviceList is Linux.Devices followed by the default devices the spec does
// not list itself.
func deviceList(spec *specs.Spec) ([]device, error) {
	var out []device
	listed := map[string]bool{}
	if spec.Linux != nil {
		for _, d := range spec.Linux.Devices {
			dv := device{path: filepath.Clean("/" + d.Path), major: uint32(d.Major), minor: uint32(d.Minor), mode: 0o666}
			switch d.Type {
			case "c", "u":
				dv.kind = unix.S_IFCHR
			case "b":
				dv.kind = unix.S_IFBLK
			case "p":
				dv.kind, dv.major, dv.minor = unix.S_IFIFO, 0, 0
			default:
				return nil, fmt.Errorf("device %s: unknown type %q (want c, b, u or p)", d.Path, d.Type)
			}
			if d.Major < 0 || d.Minor < 0 || d.Major > 0xfff || d.Minor > 0xfffff {
				return nil, fmt.Errorf("device %s: bad number %d:%d", d.Path, d.Major, d.Minor)
			}
			if d.FileMode != nil {
				dv.mode = uint32(*d.FileMode) & 0o7777
			}
			if d.UID != nil {
				dv.uid = *d.UID
			}
			if d.GID != nil {
				dv.gid = *d.GID
			}
			listed[dv.path] = true
			if dv.path == "/dev/ptmx" {
				continue // always the symlink to pts/ptmx
			}
			out = append(out, dv)
		}
	}
	for _, d := range defaultDevices {
		if !listed[d.path] {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *setup) makeDevices() error {
	devs, err := deviceList(s.cfg.Spec)
	if err != nil {
		return err
	}
	for _, d := range devs {
		if err := s.makeDevice(d); err != nil {
			return fmt.Errorf("device %s: %w", d.path, err)
		}
	}
	return nil
}

// makeDevice creates one node with the spec's mode and owner. In a user
// namespace, or when mknod is refused, the host's node at the same path is
// bind-mounted onto an empty file instead (keeping the host's mode and
// owner). FIFOs need no privilege and are always created.
func (s *setup) makeDevice(d device) error {
	dir, err := s.dir(filepath.Dir(d.path))
	if err != nil {
		return err
	}
	base := filepath.Base(d.path)
	if s.cfg.UserNS && d.kind != unix.S_IFIFO {
		return bindDevice(dir, base, d)
	}
	dev := unix.Mkdev(d.major, d.minor)
	err = unix.Mknodat(int(dir.Fd()), base, d.kind|d.mode, int(dev))
	switch {
	case errors.Is(err, unix.EEXIST):
		return nil // already there: the rootfs provides it
	case errors.Is(err, unix.EPERM) && d.kind != unix.S_IFIFO:
		return bindDevice(dir, base, d)
	case err != nil:
		return fmt.Errorf("mknod: %w", err)
	}
	fd, err := unix.Openat(int(dir.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != d.kind || (d.kind != unix.S_IFIFO && st.Rdev != dev) {
		return errors.New("the node was replaced while it was created")
	}
	// mknod applied the umask; set the exact mode through the handle.
	if err := unix.Fchmodat(unix.AT_FDCWD, fdPath(f), d.mode, 0); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := unix.Fchownat(fd, "", int(d.uid), int(d.gid), unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

// bindDevice bind-mounts the host's node at d.path onto an empty file.
func bindDevice(dir *os.File, base string, d device) error {
	var hst unix.Stat_t
	if err := unix.Stat(d.path, &hst); err != nil {
		return fmt.Errorf("host node: %w", err)
	}
	if hst.Mode&unix.S_IFMT != d.kind || hst.Rdev != unix.Mkdev(d.major, d.minor) {
		return fmt.Errorf("host node %s is not the device %d:%d", d.path, d.major, d.minor)
	}
	if err := unix.Mknodat(int(dir.Fd()), base, unix.S_IFREG, 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create mountpoint: %w", err)
	}
	fd, err := unix.Openat(int(dir.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFLNK || t == unix.S_IFDIR {
		return errors.New("mountpoint is a symlink or a directory")
	}
	if err := unix.Mount(d.path, fdPath(f), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", d.path, d.path, err)
	}
	return nil
}

// devLinks makes /dev/ptmx point into the container's devpts and adds the
// /dev/fd, stdin, stdout, stderr symlinks, and /dev/core when the kernel has
// /proc/kcore.
func (s *setup) devLinks() error {
	dev, err := s.dir("/dev")
	if err != nil {
		return fmt.Errorf("/dev: %w", err)
	}
	dfd := int(dev.Fd())
	if err := unix.Unlinkat(dfd, "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove /dev/ptmx: %w", err)
	}
	if err := unix.Symlinkat("pts/ptmx", dfd, "ptmx"); err != nil {
		return fmt.Errorf("symlink /dev/ptmx: %w", err)
	}
	links := [][2]string{
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	}
	if _, err := os.Lstat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "core"})
	}
	for _, l := range links {
		if err := unix.Symlinkat(l[0], dfd, l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

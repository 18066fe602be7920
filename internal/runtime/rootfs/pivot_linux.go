package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Pivot makes Rootfs the root and leaves the working directory at "/". By
// default it uses pivot_root(".", ".") and detaches the old root, so nothing
// of the host stays reachable; with NoPivot it moves the rootfs onto "/" and
// chroots, after hiding the host's proc and sysfs mounts (which would
// otherwise let the container mount an unmasked procfs). With NoMountNS it
// only chroots into the bind Prepare made: the namespace is the runtime's,
// whose "/" must neither move nor lose its mounts.
func Pivot(cfg *Config) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if cfg.NoMountNS {
		return chrootRoot(cfg.Rootfs)
	}
	if cfg.NoPivot {
		return moveRoot(cfg.Rootfs)
	}
	return pivotRoot(cfg.Rootfs)
}

func pivotRoot(rootfs string) error {
	oldRoot, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", rootfs, err)
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one at
	// "/", which avoids needing a put_old directory inside the rootfs.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", rootfs, err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir to the old root: %w", err)
	}
	// rslave first so that detaching the old root cannot propagate to
	// the host's mounts.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make the old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

func moveRoot(rootfs string) error {
	if err := hideHostProcSys(rootfs); err != nil {
		return err
	}
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("mount %s on /: %w", rootfs, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// chrootRoot enters rootfs with chdir + chroot, all a shared mount namespace
// allows. A process with CAP_SYS_CHROOT can leave a chroot: a container
// without a mount namespace of its own is not isolated from the runtime's
// filesystem, and the spec that asked for that knows it.
func chrootRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// hideHostProcSys detaches every full proc or sysfs mount outside rootfs (or
// covers it with a tmpfs where detaching is not allowed). The kernel lets a
// namespace mount a fresh procfs only while an unobstructed one is visible in
// it; after a chroot the host's would still be there.
func hideHostProcSys(rootfs string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, m := range parseMountinfo(string(data)) {
		if m.root != "/" || (m.fstype != "proc" && m.fstype != "sysfs") ||
			m.mountpoint == rootfs || strings.HasPrefix(m.mountpoint, rootfs+"/") {
			continue
		}
		if err := unix.Mount("", m.mountpoint, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
				continue // already gone with a parent
			}
			return fmt.Errorf("make %s rslave: %w", m.mountpoint, err)
		}
		err := unix.Unmount(m.mountpoint, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) {
			err = unix.Mount("tmpfs", m.mountpoint, "tmpfs", unix.MS_RDONLY, "nr_blocks=1,nr_inodes=2")
		}
		if err != nil {
			return fmt.Errorf("hide host %s at %s: %w", m.fstype, m.mountpoint, err)
		}
	}
	return nil
}

// mountinfoEntry holds the fields of a /proc/self/mountinfo line used here.
type mountinfoEntry struct {
	id, parent               int
	dev                      string // "major:minor" of the filesystem
	root, mountpoint, fstype string
}

func parseMountinfo(data string) []mountinfoEntry {
	var out []mountinfoEntry
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		// id parent dev root mountpoint options [optional...] - fstype source super
		if len(f) < 10 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			continue
		}
		id, err1 := strconv.Atoi(f[0])
		parent, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, mountinfoEntry{
			id:         id,
			parent:     parent,
			dev:        f[2],
			root:       unescapeMountinfo(f[3]),
			mountpoint: unescapeMountinfo(f[4]),
			fstype:     f[sep+1],
		})
	}
	return out
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space, ...).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// BindConsole bind-mounts the pty slave at slavePath (a path inside the new
// root, e.g. /dev/pts/0) onto /dev/console, creating an empty file there
// first when needed. Call it after Pivot when Process.Terminal is set.
func BindConsole(slavePath string) error {
	var st unix.Stat_t
	if err := unix.Stat(slavePath, &st); err != nil {
		return fmt.Errorf("console %s: %w", slavePath, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return fmt.Errorf("console %s is not a character device", slavePath)
	}
	const console = "/dev/console"
	var cst unix.Stat_t
	err := unix.Lstat(console, &cst)
	switch {
	case errors.Is(err, unix.ENOENT):
		if err := unix.Mknod(console, unix.S_IFREG|0o600, 0); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create %s: %w", console, err)
		}
	case err != nil:
		return fmt.Errorf("stat %s: %w", console, err)
	case cst.Mode&unix.S_IFMT == unix.S_IFLNK || cst.Mode&unix.S_IFMT == unix.S_IFDIR:
		return fmt.Errorf("%s is a symlink or a directory", console)
	}
	if err := unix.Mount(slavePath, console, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", slavePath, console, err)
	}
	return nil
}

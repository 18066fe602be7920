package rootfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Finish runs after Pivot (and BindConsole), in the new root. It makes
// Linux.ReadonlyPaths read-only (bind + remount; missing paths are skipped),
// masks Linux.MaskedPaths (/dev/null over files, an empty read-only tmpfs
// over directories; missing paths are skipped), remounts read-only the tmpfs
// and /dev mounts whose options say ro, remounts "/" read-only when
// Root.Readonly, and finally applies a shared or unbindable
// Linux.RootfsPropagation to "/" (private and slave were applied by Prepare).
// With NoMountNS every path, "/" included, is inside the chroot: all of it
// lands on the bind of Rootfs and below, never on the runtime's own mounts.
//
// Sysctls must be written before Finish: /proc/sys is read-only afterwards.
func Finish(cfg *Config) error {
	if err := cfg.check(); err != nil {
		return err
	}
	prop, err := parsePropagation(cfg.rootPropagation())
	if err != nil {
		return err
	}
	if l := cfg.Spec.Linux; l != nil {
		for _, p := range l.ReadonlyPaths {
			if err := readonlyPath(p); err != nil {
				return fmt.Errorf("readonly path %s: %w", p, err)
			}
		}
		if err := maskPaths(l.MaskedPaths); err != nil {
			return err
		}
	}
	for _, m := range cfg.Spec.Mounts {
		o, err := parseOptions(m.Options)
		dest := cleanDest(m.Destination)
		if err != nil || m.Type == "bind" || o.bind() || !delayRO(m.Type, dest) {
			continue
		}
		switch {
		case o.recSet&unix.MOUNT_ATTR_RDONLY != 0:
			attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
			err = unix.MountSetattr(unix.AT_FDCWD, dest, unix.AT_RECURSIVE, &attr)
		case o.set&unix.MS_RDONLY != 0:
			err = remountRO(dest)
		}
		if err != nil {
			return fmt.Errorf("remount %s read-only: %w", dest, err)
		}
	}
	if cfg.readonlyRoot() {
		if err := remountRO("/"); err != nil {
			return fmt.Errorf("remount / read-only: %w", err)
		}
	}
	if prop&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
		if err := unix.Mount("", "/", "", prop, ""); err != nil {
			return fmt.Errorf("set propagation of /: %w", err)
		}
	}
	return nil
}

// remountRO makes the mount at path read-only, keeping its other per-mount
// flags (a bind remount sets them all at once; a locked flag left out would
// make it fail in a user namespace).
func remountRO(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return err
	}
	keep := statfsFlags(&st) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
		unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_NOSYMFOLLOW)
	return unix.Mount("", path, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|keep, "")
}

// readonlyPath binds path onto itself (with everything mounted below it) and
// makes that bind read-only.
func readonlyPath(path string) error {
	if err := unix.Mount(path, path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	return remountRO(path)
}

// maskPaths hides each path: a file gets /dev/null bound over it, a directory
// an empty read-only tmpfs mounted without options, as runc mounts it (so
// /proc/self/mounts reads the same). All masked directories share the first
// one's tmpfs (a bind keeps its read-only flag), so masking costs one
// superblock.
func maskPaths(paths []string) error {
	var shared string
	checkedNull := false
	for _, p := range paths {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("mask %s: %w", p, err)
		}
		var err error
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFDIR && shared != "":
			err = unix.Mount(shared, p, "", unix.MS_BIND, "")
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
			shared = p
		default:
			if !checkedNull {
				if err := checkDevNull(); err != nil {
					return fmt.Errorf("mask %s: %w", p, err)
				}
				checkedNull = true
			}
			err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

// checkDevNull makes sure the container's /dev/null is the null device
// before it is bound over files that must read as empty.
func checkDevNull() error {
	var st unix.Stat_t
	if err := unix.Stat("/dev/null", &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		return errors.New("/dev/null is not the null device")
	}
	return nil
}

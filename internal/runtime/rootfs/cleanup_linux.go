package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSelfBinds bounds Cleanup's loop: each Prepare with NoMountNS stacks
// one bind, and a few failed retries are the most a rootfs should carry.
const maxSelfBinds = 64

// Cleanup removes, from the caller's mount namespace, what Prepare, Finish
// and BindConsole mounted for a container set up with NoMountNS: the bind of
// rootfs onto itself and everything mounted under it go in one lazy unmount
// (MNT_DETACH), so a process still inside only keeps its own view. Binds
// stacked by repeated Prepares all go. A mount at rootfs that is not a bind
// of rootfs onto itself (the snapshotter's overlay, a bind of another
// directory) is the caller's and stays, with the mounts below it; so callers
// must not bind rootfs onto itself themselves.
//
// It is idempotent, reads /proc/self/mountinfo to decide and does nothing
// when nothing of a container is mounted or rootfs does not exist. Errors:
// rootfs not absolute or "/", mountinfo or the kernel's mount id unreadable,
// or the unmount refused.
func Cleanup(rootfs string) error {
	if !filepath.IsAbs(rootfs) || filepath.Clean(rootfs) == "/" {
		return fmt.Errorf("rootfs: %q must be an absolute path other than /", rootfs)
	}
	// mountinfo shows real paths.
	real, err := filepath.EvalSymlinks(rootfs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rootfs %s: %w", rootfs, err)
	}
	if real == "/" {
		return fmt.Errorf("rootfs %s resolves to /", rootfs)
	}
	for range maxSelfBinds {
		done, err := detachSelfBind(real)
		if err != nil {
			return fmt.Errorf("rootfs %s: %w", rootfs, err)
		}
		if done {
			return nil
		}
	}
	return fmt.Errorf("rootfs %s: still bound onto itself after %d unmounts", rootfs, maxSelfBinds)
}

// detachSelfBind unmounts the mount on top of rootfs if it is a bind of
// rootfs onto itself, and reports done when there was none. The mount is
// named by an O_PATH handle, both to read its id and to unmount it, so what
// is checked is what goes.
func detachSelfBind(rootfs string) (done bool, err error) {
	f, err := os.OpenFile(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
		return false, fmt.Errorf("statx: %w", err)
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		return false, errors.New("the kernel does not report mount ids (statx STATX_MNT_ID, Linux 5.8)")
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	mounts := map[int]*mountinfoEntry{}
	for _, m := range parseMountinfo(string(data)) {
		mounts[m.id] = &m
	}
	top := mounts[int(stx.Mnt_id)]
	if top == nil {
		return false, fmt.Errorf("mount %d is not in /proc/self/mountinfo", stx.Mnt_id)
	}
	if top.mountpoint != rootfs || !isSelfBind(top, mounts[top.parent]) {
		return true, nil
	}
	if err := unix.Unmount(fdPath(f), unix.MNT_DETACH); err != nil {
		return false, fmt.Errorf("unmount the bind onto itself (mount %d): %w", top.id, err)
	}
	return false, nil
}

// isSelfBind reports whether m shows exactly what lies beneath it: the same
// filesystem and directory as the mount it covers (when parent is mounted at
// the same place) or as the directory of parent it is mounted on. Only a
// bind of a path onto itself does that.
func isSelfBind(m, parent *mountinfoEntry) bool {
	if parent == nil || m.dev != parent.dev {
		return false
	}
	if parent.mountpoint == m.mountpoint {
		return m.root == parent.root
	}
	rel := m.mountpoint
	if parent.mountpoint != "/" {
		var ok bool
		if rel, ok = strings.CutPrefix(m.mountpoint, parent.mountpoint+"/"); !ok {
			return false
		}
	}
	return m.root == path.Join(parent.root, rel)
}

package container

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// protectedSelf returns a descriptor of this executable that cannot be
// written through, whoever holds it (CVE-2019-5736: a container process
// that reaches /proc/<init>/exe must not be able to overwrite berth-runtime
// on the host). The init is exec'd through it.
//
// The fast way is a detached, read-only overlayfs mount of the binary's
// directory (an overlay without an upper layer cannot be written and, not
// being attached to any mount namespace, cannot be remounted): ~0.1 ms. If
// the kernel refuses (no overlayfs, or a lower directory overlayfs cannot
// stack on), fall back to a sealed memfd copy, which costs a copy of the
// binary (~3 ms for 8 MB).
func (r *Runtime) protectedSelf() (*os.File, error) {
	if os.Getenv("X_NOPROTECT") == "1" {
		return os.Open("/proc/self/exe")
	}
	if f, err := overlaySelf(filepath.Join(r.root, ".empty")); err == nil {
		return f, nil
	}
	return sealedSelf()
}

// overlaySelf mounts the executable's directory and the empty directory
// empty (overlayfs needs two lower layers when it has no upper one) as a
// detached overlay and opens the executable in it.
func overlaySelf(empty string) (*os.File, error) {
	if err := os.Mkdir(empty, 0o700); err != nil && !os.IsExist(err) {
		return nil, err
	}
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	dir := filepath.Dir(exe)
	if err := unix.FsconfigSetString(fsfd, "lowerdir", dir+":"+empty); err != nil {
		return nil, fmt.Errorf("overlay lowerdir %s: %w", dir, err)
	}
	// Skip the features a read-only view does not need; each costs a
	// lookup at mount time.
	for _, o := range []string{"xino", "index", "metacopy", "redirect_dir"} {
		v := "off"
		if o == "redirect_dir" {
			v = "nofollow"
		}
		_ = unix.FsconfigSetString(fsfd, o, v)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("create overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("fsmount overlay: %w", err)
	}
	// Closing the mount's fd dissolves the detached mount, which waits for
	// an RCU grace period (~1 ms): let that happen beside the rest of the
	// work rather than in front of it.
	defer func() { go unix.Close(mfd) }()
	fd, err := unix.Openat(mfd, filepath.Base(exe), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s in overlay: %w", exe, err)
	}
	return os.NewFile(uintptr(fd), exe), nil
}

// sealedSelf returns a sealed, read-only in-memory copy of the running
// executable. The init runs from it, so a process inside the container that
// gets hold of /proc/<init>/exe cannot overwrite berth-runtime on the host
// (CVE-2019-5736): the seals make every write fail, whatever the caller's
// privileges.
func sealedSelf() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own executable: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("berth-runtime", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "berth-runtime")
	st, err := src.Stat()
	if err != nil {
		mem.Close()
		return nil, err
	}
	// copy_file_range / sendfile keep the copy in the kernel.
	if _, err := io.CopyN(mem, src, st.Size()); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy own executable: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal executable copy: %w", err)
	}
	return mem, nil
}

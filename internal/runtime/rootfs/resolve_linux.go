package rootfs

import (
	"errors"
	"os"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Path resolution inside the rootfs. Both helpers resolve symlinks as if the
// rootfs were "/" and return O_PATH handles, never host paths. The fast path
// is the kernel's own openat2(RESOLVE_IN_ROOT), one syscall; pathrs-lite
// (which adds procfs cross-checks and a userspace resolver for kernels or
// seccomp profiles without openat2) handles everything else.

// openInRoot opens path, relative to the rootfs, with O_PATH.
func (s *setup) openInRoot(path string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 4 {
		fd, err := unix.Openat2(int(s.root.Fd()), path, &how)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if errors.Is(err, unix.EAGAIN) {
			continue // a rename raced with the lookup; the kernel asks to retry
		}
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			break
		}
		return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
	}
	return pathrs.OpenatInRoot(s.root, path)
}

// mkdirInRoot opens directory path, relative to the rootfs, creating it and
// its missing parents (mode 0755). The usual case, only the last component
// missing, is a mkdirat in the opened parent: a single name relative to a
// handle cannot be redirected by a symlink.
func (s *setup) mkdirInRoot(path string) (*os.File, error) {
	if f, err := s.openInRoot(path); err == nil {
		return f, nil
	}
	base := filepath.Base(path)
	if parent, err := s.openInRoot(filepath.Dir(path)); err == nil && base != "." && base != ".." && base != "/" {
		defer parent.Close()
		err := unix.Mkdirat(int(parent.Fd()), base, 0o755)
		if err == nil || errors.Is(err, unix.EEXIST) {
			fd, err := unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				return os.NewFile(uintptr(fd), path), nil
			}
		}
	}
	return pathrs.MkdirAllHandle(s.root, path, 0o755)
}

// dir returns a cached handle on directory path (created when missing), for
// the many nodes and links made in the same few directories under /dev.
func (s *setup) dir(path string) (*os.File, error) {
	if f, ok := s.dirs[path]; ok {
		return f, nil
	}
	f, err := s.mkdirInRoot(path)
	if err != nil {
		return nil, err
	}
	if s.dirs == nil {
		s.dirs = map[string]*os.File{}
	}
	s.dirs[path] = f
	return f, nil
}

func (s *setup) close() {
	for _, f := range s.dirs {
		f.Close()
	}
	s.root.Close()
}

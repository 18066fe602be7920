package container

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

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

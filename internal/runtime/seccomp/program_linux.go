package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Install installs p on the calling thread and, with the TSYNC flag Compile
// sets, on every thread of the process, with one seccomp(2) call. It needs
// no libseccomp. A nil p does nothing. As for Load, the thread needs
// no_new_privs or CAP_SYS_ADMIN; see InstallAt for the ordering rule.
func (p *Program) Install() error {
	if p == nil {
		return nil
	}
	n := len(p.Instructions)
	if n == 0 || n > maxInstructions {
		return fmt.Errorf("seccomp: install: program has %d instructions (1 to %d allowed)", n, maxInstructions)
	}
	filter := make([]unix.SockFilter, n)
	for i, in := range p.Instructions {
		filter[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog := unix.SockFprog{Len: uint16(n), Filter: &filter[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	switch {
	case errno == unix.EACCES:
		return fmt.Errorf("seccomp: install filter: %w (no_new_privs is not set and the thread lacks CAP_SYS_ADMIN)", errno)
	case errno != 0:
		return fmt.Errorf("seccomp: install filter (flags %#x): %w", p.Flags, errno)
	case r != 0:
		// With TSYNC, a positive return is a thread that could not be
		// synchronised (it has a filter of its own); nothing was installed.
		return fmt.Errorf("seccomp: install filter: thread %d could not be synchronised (TSYNC)", r)
	}
	return nil
}

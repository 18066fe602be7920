package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// noNewPrivsSet reports the calling thread's no_new_privs bit.
func noNewPrivsSet() (bool, error) {
	v, _, errno := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0, 0)
	if errno != 0 {
		return false, fmt.Errorf("prctl(PR_GET_NO_NEW_PRIVS): %w", errno)
	}
	return v == 1, nil
}

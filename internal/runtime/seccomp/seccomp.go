package seccomp

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNotifyUnsupported is wrapped by the error Load and Validate return for
// a profile that needs a seccomp user-notification listener
// (SCMP_ACT_NOTIFY, listenerPath, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV).
var ErrNotifyUnsupported = errors.New("seccomp user notification (SCMP_ACT_NOTIFY) is not supported by berth-runtime")

// ErrUnsupported is wrapped by the error Load and Validate return for a
// non-nil profile in a build without libseccomp (not Linux, or cgo off).
var ErrUnsupported = errors.New("seccomp is not supported by this build of berth-runtime (needs linux and cgo with libseccomp)")

// Stage is a point in the container init's sequence where LoadAt is called.
// See "Order of operations" in the package documentation.
type Stage int

const (
	// BeforeCredentials is after prctl(PR_SET_NO_NEW_PRIVS) (if the spec
	// asks for it) and before the bounding set, groups, uid/gid and
	// capabilities change: the last point where CAP_SYS_ADMIN is held.
	BeforeCredentials Stage = iota + 1
	// BeforeExec is the last step before execve.
	BeforeExec
)

func (s Stage) String() string {
	switch s {
	case BeforeCredentials:
		return "before-credentials"
	case BeforeExec:
		return "before-exec"
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// LoadAt installs cfg if stage is where a process whose spec says
// noNewPrivileges must install it, and does nothing otherwise. The init
// calls it at both stages with the same arguments, so exactly one of the two
// calls installs the filter:
//
//   - noNewPrivileges false: installed at BeforeCredentials, because without
//     no_new_privs the kernel only lets a task holding CAP_SYS_ADMIN install
//     a filter (the filter could otherwise confuse a setuid binary).
//   - noNewPrivileges true: installed at BeforeExec, so the init's own
//     syscalls after the credential change need not be allowed by the
//     profile. LoadAt checks that no_new_privs really is set and errors if
//     not, rather than depending on CAP_SYS_ADMIN still being there.
//
// A nil cfg does nothing at either stage.
func LoadAt(stage Stage, cfg *specs.LinuxSeccomp, noNewPrivileges bool) error {
	return atStage(stage, cfg == nil, noNewPrivileges, func() error { return Load(cfg) })
}

// InstallAt is LoadAt for a Program compiled earlier: same stages, same
// rule, and a nil p does nothing.
func (p *Program) InstallAt(stage Stage, noNewPrivileges bool) error {
	return atStage(stage, p == nil, noNewPrivileges, p.Install)
}

func atStage(stage Stage, nothing, noNewPrivileges bool, install func() error) error {
	if stage != BeforeCredentials && stage != BeforeExec {
		return fmt.Errorf("seccomp: invalid stage %v", stage)
	}
	if nothing || noNewPrivileges != (stage == BeforeExec) {
		return nil
	}
	if noNewPrivileges {
		set, err := noNewPrivsSet()
		if err != nil {
			return fmt.Errorf("seccomp: install %v: %w", stage, err)
		}
		if !set {
			return fmt.Errorf("seccomp: install %v: process.noNewPrivileges is true but PR_SET_NO_NEW_PRIVS has not been set on this thread", stage)
		}
	}
	if err := install(); err != nil {
		return fmt.Errorf("%w (stage %v, noNewPrivileges=%t)", err, stage, noNewPrivileges)
	}
	return nil
}

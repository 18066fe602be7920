//go:build linux && cgo

package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

const (
	// maxErrno is the kernel's MAX_ERRNO: larger SECCOMP_RET_ERRNO data is
	// clamped by the kernel, so a larger errnoRet is a mistake in the profile.
	maxErrno = 4095
	// maxTraceMsg is the largest message libseccomp can carry for TRACE.
	maxTraceMsg = 1<<15 - 1
	// maxArgs is the number of syscall arguments seccomp can inspect.
	maxArgs = 6
)

// flagTSYNC is not among runtime-spec's named flags but is accepted by runc
// and appears in real profiles.
const flagTSYNC specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

var arches = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86:         libseccomp.ArchX86,
	specs.ArchX86_64:      libseccomp.ArchAMD64,
	specs.ArchX32:         libseccomp.ArchX32,
	specs.ArchARM:         libseccomp.ArchARM,
	specs.ArchAARCH64:     libseccomp.ArchARM64,
	specs.ArchMIPS:        libseccomp.ArchMIPS,
	specs.ArchMIPS64:      libseccomp.ArchMIPS64,
	specs.ArchMIPS64N32:   libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL:      libseccomp.ArchMIPSEL,
	specs.ArchMIPSEL64:    libseccomp.ArchMIPSEL64,
	specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32,
	specs.ArchPPC:         libseccomp.ArchPPC,
	specs.ArchPPC64:       libseccomp.ArchPPC64,
	specs.ArchPPC64LE:     libseccomp.ArchPPC64LE,
	specs.ArchS390:        libseccomp.ArchS390,
	specs.ArchS390X:       libseccomp.ArchS390X,
	specs.ArchPARISC:      libseccomp.ArchPARISC,
	specs.ArchPARISC64:    libseccomp.ArchPARISC64,
	specs.ArchRISCV64:     libseccomp.ArchRISCV64,
	specs.ArchLOONGARCH64: libseccomp.ArchLOONGARCH64,
	specs.ArchM68K:        libseccomp.ArchM68K,
	specs.ArchSH:          libseccomp.ArchSH,
	specs.ArchSHEB:        libseccomp.ArchSHEB,
}

var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// Load compiles cfg (see Compile) and installs it (see Program.Install) on
// the calling thread and every other thread of the process. A nil cfg does
// nothing. Without no_new_privs set on the thread the caller must hold
// CAP_SYS_ADMIN (the kernel answers EACCES otherwise); use LoadAt to get that
// ordering right. On error nothing has been installed.
func Load(cfg *specs.LinuxSeccomp) error {
	if cfg == nil {
		return nil
	}
	p, err := Compile(cfg)
	if err != nil {
		return err
	}
	return p.Install()
}

// Compile translates cfg into the BPF program and seccomp(2) flags that
// Load installs, without installing anything. A nil cfg compiles to a nil
// Program (whose Install does nothing).
func Compile(cfg *specs.LinuxSeccomp) (*Program, error) {
	if cfg == nil {
		return nil, nil
	}
	filter, err := compile(cfg)
	if err != nil {
		return nil, fmt.Errorf("seccomp: compile: %w", err)
	}
	defer filter.Release()
	ins, err := exportBPF(filter)
	if err != nil {
		return nil, fmt.Errorf("seccomp: compile: %w", err)
	}
	// libseccomp loads every filter with TSYNC; so does Install.
	p := &Program{Instructions: ins, Flags: unix.SECCOMP_FILTER_FLAG_TSYNC}
	for _, f := range cfg.Flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			p.Flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			p.Flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		}
	}
	return p, nil
}

// exportBPF has libseccomp generate the filter's BPF program. libseccomp
// 2.5 can only write it to a file descriptor, so it goes through a memfd.
func exportBPF(filter *libseccomp.ScmpFilter) ([]Instruction, error) {
	fd, err := unix.MemfdCreate("berth-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd for BPF export: %w", err)
	}
	f := os.NewFile(uintptr(fd), "berth-seccomp-bpf")
	defer f.Close()
	if err := filter.ExportBPF(f); err != nil {
		return nil, fmt.Errorf("generate BPF: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read generated BPF: %w", err)
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read generated BPF: %w", err)
	}
	if len(raw) == 0 || len(raw)%8 != 0 || len(raw)/8 > maxInstructions {
		return nil, fmt.Errorf("generated BPF is %d bytes (at most %d instructions of 8 bytes allowed)", len(raw), maxInstructions)
	}
	ins := make([]Instruction, len(raw)/8)
	for i := range ins {
		r := raw[8*i:]
		// struct sock_filter in host byte order.
		ins[i] = Instruction{
			Code: binary.NativeEndian.Uint16(r),
			Jt:   r[2],
			Jf:   r[3],
			K:    binary.NativeEndian.Uint32(r[4:]),
		}
	}
	return ins, nil
}

// Validate builds cfg's rules in libseccomp exactly as Compile does, without
// generating or installing the BPF program (that is most of Compile's cost),
// and returns the first problem found. A nil cfg is valid. The only errors it
// cannot see are in BPF generation itself (a program over the kernel's 4096
// instructions); CompileCached in `create` sees those too.
func Validate(cfg *specs.LinuxSeccomp) error {
	if cfg == nil {
		return nil
	}
	filter, err := compile(cfg)
	if err != nil {
		return fmt.Errorf("seccomp: validate: %w", err)
	}
	filter.Release()
	return nil
}

// compile builds a libseccomp filter context for cfg. The caller releases it.
// seccomp(2) flags are not libseccomp's business here: Compile puts them in
// the Program and Install passes them to the kernel.
func compile(cfg *specs.LinuxSeccomp) (*libseccomp.ScmpFilter, error) {
	if cfg.ListenerPath != "" {
		return nil, fmt.Errorf("listenerPath %q: %w", cfg.ListenerPath, ErrNotifyUnsupported)
	}
	defAct, err := action(cfg.DefaultAction, cfg.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	for _, f := range cfg.Flags {
		switch f {
		case flagTSYNC, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow:
		case specs.LinuxSeccompFlagWaitKillableRecv:
			return nil, fmt.Errorf("flag %s: %w", f, ErrNotifyUnsupported)
		default:
			return nil, fmt.Errorf("unknown seccomp flag %q", f)
		}
	}
	var archs []libseccomp.ScmpArch
	for _, a := range cfg.Architectures {
		sa, ok := arches[a]
		if !ok {
			return nil, fmt.Errorf("unknown architecture %q", a)
		}
		archs = append(archs, sa)
	}

	// Check every rule before asking libseccomp for anything, so a bad
	// action or operator is reported even in a rule that would be skipped.
	type rule struct {
		act   libseccomp.ScmpAction
		conds [][]libseccomp.ScmpCondition
	}
	rules := make([]rule, len(cfg.Syscalls))
	for i, sc := range cfg.Syscalls {
		act, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ruleName(i, sc), err)
		}
		if len(sc.Names) == 0 {
			return nil, fmt.Errorf("%s: no syscall names", ruleName(i, sc))
		}
		conds, err := conditions(sc.Args)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ruleName(i, sc), err)
		}
		rules[i] = rule{act: act, conds: conds}
	}

	filter, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, fmt.Errorf("new filter with default action %s: %w", cfg.DefaultAction, err)
	}
	ok := false
	defer func() {
		if !ok {
			filter.Release()
		}
	}()
	for i, sa := range archs {
		if err := filter.AddArch(sa); err != nil {
			return nil, fmt.Errorf("architecture %s (libseccomp %s): %w", cfg.Architectures[i], libVersion(), err)
		}
	}

	for i, sc := range cfg.Syscalls {
		r := rules[i]
		if r.act == defAct {
			continue
		}
		for _, name := range sc.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				// Unknown to this libseccomp: a newer syscall the profile
				// is ready for. Skipped, like runc does.
				continue
			}
			if len(r.conds) == 0 {
				err = filter.AddRule(nr, r.act)
			} else {
				for _, c := range r.conds {
					if err = filter.AddRuleConditional(nr, r.act, c); err != nil {
						break
					}
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s: add rule for %s: %w", ruleName(i, sc), name, err)
			}
		}
	}
	ok = true
	return filter, nil
}

// action maps a runtime-spec action and its optional errnoRet.
func action(a specs.LinuxSeccompAction, ret *uint) (libseccomp.ScmpAction, error) {
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	case specs.ActErrno:
		code := uint(unix.EPERM)
		if ret != nil {
			if *ret > maxErrno {
				return 0, fmt.Errorf("%s: errnoRet %d is larger than the kernel's MAX_ERRNO (%d)", a, *ret, maxErrno)
			}
			code = *ret
		}
		return libseccomp.ActErrno.SetReturnCode(int16(code)), nil
	case specs.ActTrace:
		code := uint(unix.EPERM)
		if ret != nil {
			if *ret > maxTraceMsg {
				return 0, fmt.Errorf("%s: errnoRet %d does not fit the tracer message (max %d)", a, *ret, maxTraceMsg)
			}
			code = *ret
		}
		return libseccomp.ActTrace.SetReturnCode(int16(code)), nil
	case specs.ActNotify:
		return 0, fmt.Errorf("action %s: %w", a, ErrNotifyUnsupported)
	case "":
		return 0, errors.New("empty action")
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

// conditions maps a rule's args to the condition sets to add, one rule per
// set. If no argument index is compared twice, all comparisons go in one rule
// (all must match). Otherwise each comparison becomes its own rule, so any
// of them matches: the interpretation runc has always had, which profiles
// such as Docker's rely on.
func conditions(args []specs.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	if len(args) == 0 {
		return nil, nil
	}
	var seen [maxArgs]int
	repeated := false
	conds := make([]libseccomp.ScmpCondition, 0, len(args))
	for j, a := range args {
		if a.Index >= maxArgs {
			return nil, fmt.Errorf("args[%d]: argument index %d out of range (syscalls have %d arguments)", j, a.Index, maxArgs)
		}
		op, ok := operators[a.Op]
		if !ok {
			return nil, fmt.Errorf("args[%d]: unknown operator %q", j, a.Op)
		}
		var (
			c   libseccomp.ScmpCondition
			err error
		)
		if op == libseccomp.CompareMaskedEqual {
			// (arg & value) == valueTwo
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		} else {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("args[%d]: %w", j, err)
		}
		seen[a.Index]++
		if seen[a.Index] > 1 {
			repeated = true
		}
		conds = append(conds, c)
	}
	if !repeated {
		return [][]libseccomp.ScmpCondition{conds}, nil
	}
	split := make([][]libseccomp.ScmpCondition, len(conds))
	for j, c := range conds {
		split[j] = []libseccomp.ScmpCondition{c}
	}
	return split, nil
}

func ruleName(i int, sc specs.LinuxSyscall) string {
	if len(sc.Names) == 0 {
		return fmt.Sprintf("syscalls[%d]", i)
	}
	if len(sc.Names) == 1 {
		return fmt.Sprintf("syscalls[%d] (%s)", i, sc.Names[0])
	}
	return fmt.Sprintf("syscalls[%d] (%s, ...)", i, sc.Names[0])
}

func libVersion() string {
	maj, min, mic := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", maj, min, mic)
}

//go:build linux && cgo

package seccomp

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func uintp(v uint) *uint { return &v }

// allowWith is a profile that allows everything but the given rules.
func allowWith(rules ...specs.LinuxSyscall) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: rules}
}

func TestValidateRejects(t *testing.T) {
	errnoRule := func(names ...string) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: names, Action: specs.ActErrno}
	}
	tests := []struct {
		name    string
		cfg     *specs.LinuxSeccomp
		wantSub string // the error must name the culprit
		notify  bool   // the error must wrap ErrNotifyUnsupported
	}{
		{
			name:    "unknown default action",
			cfg:     &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_EXPLODE"},
			wantSub: `defaultAction: unknown action "SCMP_ACT_EXPLODE"`,
		},
		{
			name:    "empty default action",
			cfg:     &specs.LinuxSeccomp{},
			wantSub: "defaultAction: empty action",
		},
		{
			name:    "unknown rule action",
			cfg:     allowWith(specs.LinuxSyscall{Names: []string{"mkdir"}, Action: "SCMP_ACT_MAYBE"}),
			wantSub: `syscalls[0] (mkdir): unknown action "SCMP_ACT_MAYBE"`,
		},
		{
			name: "bad operator",
			cfg: allowWith(errnoRule("getpid"), specs.LinuxSyscall{
				Names: []string{"personality"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: "SCMP_CMP_ALMOST"}},
			}),
			wantSub: `syscalls[1] (personality): args[0]: unknown operator "SCMP_CMP_ALMOST"`,
		},
		{
			name: "bad operator in a rule that would be skipped",
			cfg: allowWith(specs.LinuxSyscall{
				Names: []string{"no_such_syscall"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: "SCMP_CMP_ALMOST"}},
			}),
			wantSub: `unknown operator "SCMP_CMP_ALMOST"`,
		},
		{
			name: "argument index out of range",
			cfg: allowWith(specs.LinuxSyscall{
				Names: []string{"personality"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 6, Value: 1, Op: specs.OpEqualTo}},
			}),
			wantSub: "argument index 6 out of range",
		},
		{
			name: "bad architecture",
			cfg: &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Architectures: []specs.Arch{specs.ArchX86_64, "SCMP_ARCH_Z80"},
			},
			wantSub: `unknown architecture "SCMP_ARCH_Z80"`,
		},
		{
			name: "lowercase architecture is not a runtime-spec name",
			cfg: &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Architectures: []specs.Arch{"x86_64"},
			},
			wantSub: `unknown architecture "x86_64"`,
		},
		{
			name: "unknown flag",
			cfg: &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, "SECCOMP_FILTER_FLAG_FAST"},
			},
			wantSub: `unknown seccomp flag "SECCOMP_FILTER_FLAG_FAST"`,
		},
		{
			name:    "notify rule",
			cfg:     allowWith(specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify}),
			wantSub: "syscalls[0] (mkdir): action SCMP_ACT_NOTIFY",
			notify:  true,
		},
		{
			name:    "notify default action",
			cfg:     &specs.LinuxSeccomp{DefaultAction: specs.ActNotify},
			wantSub: "defaultAction",
			notify:  true,
		},
		{
			name:    "listener path",
			cfg:     &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock"},
			wantSub: `listenerPath "/run/agent.sock"`,
			notify:  true,
		},
		{
			name: "wait killable recv without a listener",
			cfg: &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv},
			},
			wantSub: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
			notify:  true,
		},
		{
			name:    "errno beyond MAX_ERRNO",
			cfg:     allowWith(specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintp(5000)}),
			wantSub: "errnoRet 5000",
		},
		{
			name:    "default errno beyond MAX_ERRNO",
			cfg:     &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(70000)},
			wantSub: "defaultAction: SCMP_ACT_ERRNO: errnoRet 70000",
		},
		{
			name:    "rule without names",
			cfg:     allowWith(specs.LinuxSyscall{Action: specs.ActErrno}),
			wantSub: "syscalls[0]: no syscall names",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.cfg)
			if err == nil {
				t.Fatal("Validate accepted a bad profile")
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("Validate error %q does not contain %q", err, tt.wantSub)
			}
			if got := errors.Is(err, ErrNotifyUnsupported); got != tt.notify {
				t.Errorf("errors.Is(err, ErrNotifyUnsupported) = %v, want %v (err: %v)", got, tt.notify, err)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		cfg  *specs.LinuxSeccomp
	}{
		{name: "nil profile", cfg: nil},
		{name: "docker default profile", cfg: dockerProfile(t)},
		{
			name: "unknown syscall names are skipped",
			cfg: allowWith(specs.LinuxSyscall{
				Names: []string{"not_a_syscall_yet", "mkdir"}, Action: specs.ActErrno, ErrnoRet: uintp(99),
			}),
		},
		{
			name: "rule equal to the default action is skipped",
			cfg: &specs.LinuxSeccomp{
				DefaultAction:   specs.ActErrno,
				DefaultErrnoRet: uintp(1),
				Syscalls: []specs.LinuxSyscall{
					{Names: []string{"getpid"}, Action: specs.ActAllow},
					{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintp(1)},
					{Names: []string{"mkdirat"}, Action: specs.ActErrno}, // default errno is EPERM = 1
				},
			},
		},
		{
			name: "every action and operator",
			cfg: &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
				Flags: []specs.LinuxSeccompFlag{
					flagTSYNC, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow,
				},
				Syscalls: []specs.LinuxSyscall{
					{Names: []string{"kexec_load"}, Action: specs.ActKill},
					{Names: []string{"reboot"}, Action: specs.ActKillThread},
					{Names: []string{"init_module"}, Action: specs.ActKillProcess},
					{Names: []string{"delete_module"}, Action: specs.ActTrap},
					{Names: []string{"acct"}, Action: specs.ActTrace, ErrnoRet: uintp(7)},
					{Names: []string{"swapon"}, Action: specs.ActLog},
					{Names: []string{"getpriority"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
						{Index: 0, Value: 1, Op: specs.OpNotEqual},
						{Index: 1, Value: 2, Op: specs.OpLessThan},
					}},
					{Names: []string{"setpriority"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
						{Index: 0, Value: 1, Op: specs.OpLessEqual},
						{Index: 1, Value: 2, Op: specs.OpGreaterEqual},
						{Index: 2, Value: 3, Op: specs.OpGreaterThan},
					}},
					{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
						{Index: 0, Value: 0xff, ValueTwo: 8, Op: specs.OpMaskedEqual},
						{Index: 0, Value: 9, Op: specs.OpEqualTo},
					}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.cfg); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestLoadAtInvalidStage(t *testing.T) {
	err := LoadAt(Stage(0), allowWith(), true)
	if err == nil || !strings.Contains(err.Error(), "invalid stage") {
		t.Fatalf("LoadAt(Stage(0)) = %v, want invalid stage error", err)
	}
}

func TestLoadAtNilIsNoop(t *testing.T) {
	for _, st := range []Stage{BeforeCredentials, BeforeExec} {
		for _, nnp := range []bool{false, true} {
			if err := LoadAt(st, nil, nnp); err != nil {
				t.Errorf("LoadAt(%v, nil, %v) = %v", st, nnp, err)
			}
		}
	}
}

func TestCompileFlags(t *testing.T) {
	const (
		tsync     = 0x1 // SECCOMP_FILTER_FLAG_TSYNC
		log       = 0x2 // SECCOMP_FILTER_FLAG_LOG
		specAllow = 0x4 // SECCOMP_FILTER_FLAG_SPEC_ALLOW
	)
	tests := []struct {
		name  string
		flags []specs.LinuxSeccompFlag
		want  uint32
	}{
		{"none: TSYNC is always on", nil, tsync},
		{"explicit TSYNC", []specs.LinuxSeccompFlag{flagTSYNC}, tsync},
		{"LOG", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog}, tsync | log},
		{"SPEC_ALLOW", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagSpecAllow}, tsync | specAllow},
		{"all", []specs.LinuxSeccompFlag{flagTSYNC, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}, tsync | log | specAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := allowWith(specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActErrno})
			cfg.Flags = tt.flags
			p, err := Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.Flags != tt.want {
				t.Errorf("Flags = %#x, want %#x", p.Flags, tt.want)
			}
			// A filter ends with a return: BPF_RET is class 0x06.
			if n := len(p.Instructions); n == 0 || p.Instructions[n-1].Code&0x07 != 0x06 {
				t.Errorf("program of %d instructions does not end with a return", n)
			}
		})
	}
	if p, err := Compile(nil); p != nil || err != nil {
		t.Errorf("Compile(nil) = %v, %v; want nil, nil", p, err)
	}
}

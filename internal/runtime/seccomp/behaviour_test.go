//go:build linux && cgo

package seccomp

// Behavioural tests install filters, which cannot be undone, so they never
// run in the test process: the parent re-executes the test binary with
// childEnv naming a case, TestMain runs that case in the child on a locked OS
// thread (install, then raw syscalls), the child prints "key value" lines,
// and the parent asserts on them and on how the child exited.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/testutil"
)

const childEnv = "BERTH_SECCOMP_TEST_CHILD"

// dockerCaps is Docker's default capability set (no CAP_SYS_ADMIN), which
// decides which conditional rules Docker's profile contains.
var dockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// dockerProfile is Docker's default profile as dockerd hands it to a
// runtime, converted by the profiles module's own GetDefaultProfile.
func dockerProfile(t testing.TB) *specs.LinuxSeccomp {
	p, err := dockerProfileErr()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func dockerProfileErr() (*specs.LinuxSeccomp, error) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: dockerCaps, Effective: dockerCaps, Permitted: dockerCaps,
	}}}
	p, err := mobyseccomp.GetDefaultProfile(spec)
	if err != nil {
		return nil, fmt.Errorf("docker default profile: %w", err)
	}
	return p, nil
}

// A probe makes one syscall and returns its errno (0 on success).
type probe struct {
	name string
	call func() unix.Errno
}

func raw(nr uintptr, args ...uintptr) func() unix.Errno {
	var a [6]uintptr
	copy(a[:], args)
	return func() unix.Errno {
		_, _, e := unix.RawSyscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		return e
	}
}

// childCase is what a child process does.
type childCase struct {
	profile func() (*specs.LinuxSeccomp, error)
	// noNNP leaves no_new_privs unset (the child then needs CAP_SYS_ADMIN).
	noNNP bool
	// before runs on the locked thread before the filter is installed.
	before func() error
	// load installs the profile; Load when nil.
	load   func(*specs.LinuxSeccomp) error
	probes []probe
	// after prints extra facts once the probes have run.
	after func()
}

const (
	getpgid = unix.SYS_GETPGID
	// errTest is an errno no probe syscall returns by itself.
	errTest = 42
)

// getpgidRule answers errTest to getpgid when args match.
func getpgidRule(args ...specs.LinuxSeccompArg) func() (*specs.LinuxSeccomp, error) {
	return func() (*specs.LinuxSeccomp, error) {
		return allowWith(specs.LinuxSyscall{
			Names: []string{"getpgid"}, Action: specs.ActErrno, ErrnoRet: uintp(errTest), Args: args,
		}), nil
	}
}

func getpgidProbes(values ...uint64) []probe {
	var ps []probe
	for _, v := range values {
		ps = append(ps, probe{fmt.Sprintf("getpgid(%#x)", v), raw(getpgid, uintptr(v))})
	}
	return ps
}

func childCases() map[string]childCase {
	mkdirProbe := probe{"mkdir", func() unix.Errno {
		dir := os.Getenv("BERTH_TEST_DIR")
		return errnoOf(unix.Mkdir(filepath.Join(dir, "made"), 0o755))
	}}
	cases := map[string]childCase{
		"docker-default": {
			profile: dockerProfileErr,
			probes: []probe{
				{"getpid", raw(unix.SYS_GETPID)},
				{"keyctl", raw(unix.SYS_KEYCTL, 0, 0, 0)},
				{"clone3", raw(unix.SYS_CLONE3, 0, 0)},
				{"unshare", raw(unix.SYS_UNSHARE, unix.CLONE_NEWNS)},
				// personality: Docker allows only a few personas.
				{"personality-query", raw(unix.SYS_PERSONALITY, 0xffffffff)},
				{"personality-0x1234", raw(unix.SYS_PERSONALITY, 0x1234)},
			},
		},
		"docker-default-errno-ret": {
			profile: func() (*specs.LinuxSeccomp, error) {
				p, err := dockerProfileErr()
				if err == nil {
					p.DefaultErrnoRet = uintp(55)
				}
				return p, err
			},
			probes: []probe{
				{"getpid", raw(unix.SYS_GETPID)},
				{"keyctl", raw(unix.SYS_KEYCTL, 0, 0, 0)},
				{"clone3", raw(unix.SYS_CLONE3, 0, 0)},
			},
		},
		"errno-ret-99": {
			profile: func() (*specs.LinuxSeccomp, error) {
				return allowWith(specs.LinuxSyscall{
					Names:  []string{"syscall_from_the_future", "mkdir", "mkdirat"},
					Action: specs.ActErrno, ErrnoRet: uintp(99),
				}), nil
			},
			probes: []probe{mkdirProbe, {"getpid", raw(unix.SYS_GETPID)}},
		},
		"errno-default-eperm": {
			profile: func() (*specs.LinuxSeccomp, error) {
				return allowWith(specs.LinuxSyscall{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}), nil
			},
			probes: []probe{mkdirProbe},
		},
		"personality-arg": {
			profile: func() (*specs.LinuxSeccomp, error) {
				return allowWith(specs.LinuxSyscall{
					Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uintp(errTest),
					Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}},
				}), nil
			},
			probes: []probe{
				{"personality-query", raw(unix.SYS_PERSONALITY, 0xffffffff)},
				{"personality-linux", raw(unix.SYS_PERSONALITY, 0)},
			},
		},
		"op-ne":    {profile: getpgidRule(specs.LinuxSeccompArg{Index: 0, Value: 5, Op: specs.OpNotEqual}), probes: getpgidProbes(5, 6)},
		"op-lt":    {profile: getpgidRule(specs.LinuxSeccompArg{Index: 0, Value: 5, Op: specs.OpLessThan}), probes: getpgidProbes(4, 5)},
		"op-le":    {profile: getpgidRule(specs.LinuxSeccompArg{Index: 0, Value: 5, Op: specs.OpLessEqual}), probes: getpgidProbes(5, 6)},
		"op-eq":    {profile: getpgidRule(specs.LinuxSeccompArg{Index: 0, Value: 5, Op: specs.OpEqualTo}), probes: getpgidProbes(4, 5)},
		"op-ge":    {profile: getpgidRule(specs.LinuxSeccompArg{Index: 0, Value: 5, Op: specs.OpGreaterEqual}), probes: getpgidProbes(4, 5)},
		"op-gt":    {profile: getpgidRule(specs.LinuxSeccompArg{Index: 0, Value: 5, Op: specs.OpGreaterThan}), probes: getpgidProbes(5, 6)},
		"op-eq-64": {profile: getpgidRule(specs.LinuxSeccompArg{Index: 0, Value: 1<<32 | 5, Op: specs.OpEqualTo}), probes: getpgidProbes(5, 1<<32|5)},
		"op-masked-eq": {
			profile: getpgidRule(specs.LinuxSeccompArg{Index: 0, Value: 0xf0, ValueTwo: 0x30, Op: specs.OpMaskedEqual}),
			probes:  getpgidProbes(0x35, 0x45, 0x75),
		},
		"op-same-index-is-or": {
			profile: getpgidRule(
				specs.LinuxSeccompArg{Index: 0, Value: 5, Op: specs.OpEqualTo},
				specs.LinuxSeccompArg{Index: 0, Value: 7, Op: specs.OpEqualTo},
			),
			probes: getpgidProbes(5, 6, 7),
		},
		"op-distinct-indexes-is-and": {
			profile: func() (*specs.LinuxSeccomp, error) {
				return allowWith(specs.LinuxSyscall{
					Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: uintp(errTest),
					Args: []specs.LinuxSeccompArg{
						{Index: 0, Value: unix.PRIO_PROCESS, Op: specs.OpEqualTo},
						{Index: 1, Value: 123456, Op: specs.OpEqualTo},
					},
				}), nil
			},
			probes: []probe{
				{"both", raw(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 123456)},
				{"first-only", raw(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0)},
				{"second-only", raw(unix.SYS_GETPRIORITY, unix.PRIO_PGRP, 123456)},
			},
		},
		"log": {
			profile: func() (*specs.LinuxSeccomp, error) {
				return allowWith(specs.LinuxSyscall{Names: []string{"getpgid"}, Action: specs.ActLog}), nil
			},
			probes: getpgidProbes(0),
		},
		"trace-without-tracer": {
			profile: func() (*specs.LinuxSeccomp, error) {
				return allowWith(specs.LinuxSyscall{Names: []string{"getpgid"}, Action: specs.ActTrace}), nil
			},
			probes: getpgidProbes(0),
		},
		"kill-process": {
			profile: func() (*specs.LinuxSeccomp, error) {
				return allowWith(specs.LinuxSyscall{Names: []string{"getpgid"}, Action: specs.ActKillProcess}), nil
			},
			probes: getpgidProbes(0),
		},
		"trap": {
			profile: func() (*specs.LinuxSeccomp, error) {
				return allowWith(specs.LinuxSyscall{Names: []string{"getpgid"}, Action: specs.ActTrap}), nil
			},
			probes: getpgidProbes(0),
		},
		"flags-tsync-log-spec-allow": {
			profile: func() (*specs.LinuxSeccomp, error) {
				p, _ := getpgidRule()()
				p.Flags = []specs.LinuxSeccompFlag{flagTSYNC, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}
				return p, nil
			},
			before: startLockedThreads,
			probes: append(getpgidProbes(0), probe{"getpgid-other-thread", func() unix.Errno {
				ch := make(chan unix.Errno)
				go func() {
					runtime.LockOSThread() // a thread other than the loader's
					defer runtime.UnlockOSThread()
					ch <- raw(getpgid, 0)()
				}()
				return <-ch
			}}),
			after: printTaskSeccomp,
		},
		// Root: without no_new_privs, loading needs CAP_SYS_ADMIN. LoadAt
		// must install at BeforeCredentials and not again at BeforeExec.
		"loadat-without-nnp": {
			noNNP:   true,
			profile: getpgidRule(),
			load: func(p *specs.LinuxSeccomp) error {
				if err := LoadAt(BeforeCredentials, p, false); err != nil {
					return err
				}
				fmt.Printf("filters-after-first %s\n", threadStatus("Seccomp_filters"))
				if err := LoadAt(BeforeExec, p, false); err != nil {
					return err
				}
				fmt.Printf("filters-after-second %s\n", threadStatus("Seccomp_filters"))
				return nil
			},
			probes: getpgidProbes(0),
		},
		// With no_new_privs, LoadAt installs at BeforeExec only.
		"loadat-with-nnp": {
			profile: getpgidRule(),
			load: func(p *specs.LinuxSeccomp) error {
				if err := LoadAt(BeforeCredentials, p, true); err != nil {
					return err
				}
				fmt.Printf("filters-after-first %s\n", threadStatus("Seccomp_filters"))
				return LoadAt(BeforeExec, p, true)
			},
			probes: getpgidProbes(0),
		},
		// The spec says noNewPrivileges but the init forgot the prctl.
		"loadat-nnp-not-set": {
			noNNP:   true,
			profile: getpgidRule(),
			load:    func(p *specs.LinuxSeccomp) error { return LoadAt(BeforeExec, p, true) },
			probes:  getpgidProbes(0),
		},
		// Root that dropped CAP_SYS_ADMIN without no_new_privs: EACCES.
		"no-nnp-no-sys-admin": {
			noNNP:   true,
			profile: getpgidRule(),
			before: func() error {
				hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
				var data [2]unix.CapUserData
				if err := unix.Capget(&hdr, &data[0]); err != nil {
					return err
				}
				data[0].Effective, data[1].Effective = 0, 0
				return unix.Capset(&hdr, &data[0])
			},
			probes: getpgidProbes(0),
		},
		// A Program compiled and encoded by the parent, installed by the
		// child without libseccomp: the path a precompiling init takes.
		"install-precompiled": {
			profile: noProfile,
			load: func(*specs.LinuxSeccomp) error {
				p, err := readProgram()
				if err != nil {
					return err
				}
				if err := p.InstallAt(BeforeCredentials, true); err != nil {
					return err
				}
				fmt.Printf("filters-after-first %s\n", threadStatus("Seccomp_filters"))
				return p.InstallAt(BeforeExec, true)
			},
			probes: []probe{
				{"getpid", raw(unix.SYS_GETPID)},
				{"keyctl", raw(unix.SYS_KEYCTL, 0, 0, 0)},
				{"clone3", raw(unix.SYS_CLONE3, 0, 0)},
			},
		},
		"bench-install": {
			profile: noProfile,
			load: func(*specs.LinuxSeccomp) error {
				p, err := readProgram()
				if err != nil {
					return err
				}
				start := time.Now()
				err = p.Install()
				fmt.Printf("load-ns %d\n", time.Since(start).Nanoseconds())
				return err
			},
		},
		"bench-load": {
			profile: dockerProfileErr,
			load: func(p *specs.LinuxSeccomp) error {
				start := time.Now()
				err := Load(p)
				fmt.Printf("load-ns %d\n", time.Since(start).Nanoseconds())
				return err
			},
		},
	}
	return cases
}

func noProfile() (*specs.LinuxSeccomp, error) { return nil, nil }

// readProgram decodes the Program the parent left in BERTH_TEST_PROGRAM.
func readProgram() (*Program, error) {
	data, err := os.ReadFile(os.Getenv("BERTH_TEST_PROGRAM"))
	if err != nil {
		return nil, err
	}
	p := new(Program)
	return p, p.UnmarshalBinary(data)
}

// writeProgram compiles cfg, encodes it to a file and returns the env entry
// that hands it to a child.
func writeProgram(t testing.TB, cfg *specs.LinuxSeccomp) string {
	t.Helper()
	p, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "program")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return "BERTH_TEST_PROGRAM=" + path
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if err == nil {
		return 0
	}
	if errors.As(err, &e) {
		return e
	}
	return unix.EINVAL
}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChild(name))
	}
	os.Exit(m.Run())
}

// runChild is the child side: it prints "key value" lines on stdout.
func runChild(name string) int {
	runtime.LockOSThread()
	c, ok := childCases()[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown child case %q\n", name)
		return 3
	}
	p, err := c.profile()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if c.before != nil {
		if err := c.before(); err != nil {
			fmt.Fprintf(os.Stderr, "before: %v\n", err)
			return 3
		}
	}
	if !c.noNNP {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fmt.Fprintf(os.Stderr, "no_new_privs: %v\n", err)
			return 3
		}
	}
	load := c.load
	if load == nil {
		load = Load
	}
	if err := load(p); err != nil {
		fmt.Printf("load-error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return 0
	}
	fmt.Println("loaded yes")
	fmt.Printf("seccomp %s\n", threadStatus("Seccomp"))
	for _, pr := range c.probes {
		fmt.Printf("probe %s %d\n", pr.name, int(pr.call()))
	}
	if c.after != nil {
		c.after()
	}
	return 0
}

// threadStatus is a field of /proc/thread-self/status: filters and
// capabilities are per thread, /proc/self is the thread-group leader.
func threadStatus(field string) string {
	data, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return "error:" + err.Error()
	}
	return statusField(data, field)
}

func statusField(data []byte, field string) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	return "missing"
}

// startLockedThreads parks a few goroutines on their own OS threads, so the
// process has threads the filter must be synchronised to.
func startLockedThreads() error {
	for range 3 {
		go func() {
			runtime.LockOSThread()
			select {}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	return nil
}

// printTaskSeccomp prints how many of the process's threads run with a
// filter.
func printTaskSeccomp() {
	paths, _ := filepath.Glob("/proc/self/task/*/status")
	tasks, filtered := 0, 0
	for _, st := range paths {
		data, err := os.ReadFile(st)
		if err != nil {
			continue // the thread exited meanwhile
		}
		tasks++
		if statusField(data, "Seccomp") == "2" {
			filtered++
		}
	}
	fmt.Printf("tasks %d\nfiltered-tasks %d\n", tasks, filtered)
}

// childResult is what the parent saw.
type childResult struct {
	kv     map[string]string
	state  *os.ProcessState
	stdout string
	stderr string
}

func runChildCase(t testing.TB, name string, env ...string) childResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, "BERTH_TEST_DIR="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run child %s: %v", name, err)
	}
	res := childResult{kv: map[string]string{}, state: cmd.ProcessState, stdout: stdout.String(), stderr: stderr.String()}
	for line := range strings.Lines(res.stdout) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.HasPrefix(k, "probe") {
			k, v, _ = strings.Cut(v, " ")
			k = "probe:" + k
		}
		res.kv[k] = v
	}
	return res
}

// wantLoaded fails unless the child installed its filter and exited 0.
func (r childResult) wantLoaded(t *testing.T) {
	t.Helper()
	if !r.state.Success() || r.kv["loaded"] != "yes" {
		t.Fatalf("child did not load its filter: %v\nstdout:\n%s\nstderr:\n%s", r.state, r.stdout, r.stderr)
	}
}

func (r childResult) wantErrno(t *testing.T, probe string, want unix.Errno) {
	t.Helper()
	got, ok := r.kv["probe:"+probe]
	if !ok {
		t.Errorf("probe %s: no result\nstdout:\n%s", probe, r.stdout)
		return
	}
	n, err := strconv.Atoi(got)
	if err != nil {
		t.Errorf("probe %s: bad result %q", probe, got)
		return
	}
	if unix.Errno(n) != want {
		t.Errorf("probe %s: errno %d (%v), want %d (%v)", probe, n, unix.Errno(n), int(want), want)
	}
}

func (r childResult) wantNotErrno(t *testing.T, probe string, notWant unix.Errno) {
	t.Helper()
	got, ok := r.kv["probe:"+probe]
	if !ok {
		t.Errorf("probe %s: no result\nstdout:\n%s", probe, r.stdout)
		return
	}
	if n, _ := strconv.Atoi(got); unix.Errno(n) == notWant {
		t.Errorf("probe %s: errno %d (%v), want anything else", probe, n, notWant)
	}
}

func TestDockerDefaultProfile(t *testing.T) {
	t.Parallel()
	r := runChildCase(t, "docker-default")
	r.wantLoaded(t)
	if got := r.kv["seccomp"]; got != "2" {
		t.Errorf("/proc/thread-self/status Seccomp = %q, want 2 (filter mode)", got)
	}
	r.wantErrno(t, "getpid", 0)
	r.wantErrno(t, "keyctl", unix.EPERM)
	r.wantErrno(t, "clone3", unix.ENOSYS) // so glibc falls back to clone
	r.wantErrno(t, "unshare", unix.EPERM) // needs CAP_SYS_ADMIN in the profile
	r.wantErrno(t, "personality-query", 0)
	r.wantErrno(t, "personality-0x1234", unix.EPERM)
}

func TestInstallPrecompiledDockerProfile(t *testing.T) {
	t.Parallel()
	r := runChildCase(t, "install-precompiled", writeProgram(t, dockerProfile(t)))
	r.wantLoaded(t)
	if got := r.kv["filters-after-first"]; got != "0" {
		t.Errorf("filters after InstallAt(BeforeCredentials, nnp) = %q, want 0", got)
	}
	if got := r.kv["seccomp"]; got != "2" {
		t.Errorf("Seccomp = %q, want 2", got)
	}
	r.wantErrno(t, "getpid", 0)
	r.wantErrno(t, "keyctl", unix.EPERM)
	r.wantErrno(t, "clone3", unix.ENOSYS)
}

func TestDefaultErrnoRet(t *testing.T) {
	t.Parallel()
	r := runChildCase(t, "docker-default-errno-ret")
	r.wantLoaded(t)
	r.wantErrno(t, "getpid", 0)
	r.wantErrno(t, "keyctl", 55)
	r.wantErrno(t, "clone3", unix.ENOSYS)
}

func TestErrnoRet(t *testing.T) {
	t.Parallel()
	r := runChildCase(t, "errno-ret-99")
	r.wantLoaded(t)
	r.wantErrno(t, "mkdir", 99)
	r.wantErrno(t, "getpid", 0)

	r = runChildCase(t, "errno-default-eperm")
	r.wantLoaded(t)
	r.wantErrno(t, "mkdir", unix.EPERM)
}

func TestArgumentFilters(t *testing.T) {
	t.Parallel()
	r := runChildCase(t, "personality-arg")
	r.wantLoaded(t)
	r.wantErrno(t, "personality-query", errTest)
	r.wantErrno(t, "personality-linux", 0)

	// For each operator, the values whose getpgid call must be refused with
	// errTest; every other probed value must not be.
	tests := []struct {
		child   string
		matched []uint64
		others  []uint64
	}{
		{"op-ne", []uint64{6}, []uint64{5}},
		{"op-lt", []uint64{4}, []uint64{5}},
		{"op-le", []uint64{5}, []uint64{6}},
		{"op-eq", []uint64{5}, []uint64{4}},
		{"op-ge", []uint64{5}, []uint64{4}},
		{"op-gt", []uint64{6}, []uint64{5}},
		{"op-eq-64", []uint64{1<<32 | 5}, []uint64{5}},
		{"op-masked-eq", []uint64{0x35}, []uint64{0x45, 0x75}},
		{"op-same-index-is-or", []uint64{5, 7}, []uint64{6}},
	}
	for _, tt := range tests {
		t.Run(tt.child, func(t *testing.T) {
			t.Parallel()
			r := runChildCase(t, tt.child)
			r.wantLoaded(t)
			for _, v := range tt.matched {
				r.wantErrno(t, fmt.Sprintf("getpgid(%#x)", v), errTest)
			}
			for _, v := range tt.others {
				r.wantNotErrno(t, fmt.Sprintf("getpgid(%#x)", v), errTest)
			}
		})
	}
	t.Run("op-distinct-indexes-is-and", func(t *testing.T) {
		t.Parallel()
		r := runChildCase(t, "op-distinct-indexes-is-and")
		r.wantLoaded(t)
		r.wantErrno(t, "both", errTest)
		r.wantNotErrno(t, "first-only", errTest)
		r.wantNotErrno(t, "second-only", errTest)
	})
}

func TestActionLog(t *testing.T) {
	r := runChildCase(t, "log")
	r.wantLoaded(t)
	r.wantErrno(t, "getpgid(0x0)", 0) // LOG allows the call
	if os.Geteuid() != 0 {
		t.Log("not root: kernel log not checked")
		return
	}
	// The kernel reports the call as an audit record of type 1326
	// (AUDIT_SECCOMP) with the child's pid, the syscall number and
	// SECCOMP_RET_LOG. Without auditd these go through a rate-limited
	// printk that the other tests' KILL/LOG-flag records share, so a
	// missing line gets a few fresh children before it counts as a failure.
	for attempt := 1; ; attempt++ {
		if kernelLogged(t, r.state.Pid(), getpgid, "code=0x7ffc0000") {
			return
		}
		if attempt == 4 {
			t.Fatalf("no AUDIT_SECCOMP record with SECCOMP_RET_LOG for getpgid in the kernel log after %d children", attempt)
		}
		time.Sleep(2 * time.Second)
		r = runChildCase(t, "log")
		r.wantLoaded(t)
	}
}

// kernelLogged looks for the child's AUDIT_SECCOMP record in dmesg for up
// to a second.
func kernelLogged(t *testing.T, pid int, nr uintptr, code string) bool {
	want := []string{"type=1326", fmt.Sprintf(" pid=%d ", pid), fmt.Sprintf(" syscall=%d ", nr), code}
	deadline := time.Now().Add(time.Second)
	for {
		out, err := exec.Command("dmesg").Output()
		if err != nil {
			t.Skipf("dmesg: %v", err)
		}
		for line := range strings.Lines(string(out)) {
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			if all {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestActionTraceWithoutTracer(t *testing.T) {
	t.Parallel()
	r := runChildCase(t, "trace-without-tracer")
	r.wantLoaded(t)
	r.wantErrno(t, "getpgid(0x0)", unix.ENOSYS)
}

func TestActionKillProcessAndTrap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		child string
		check func(t *testing.T, r childResult, ws syscall.WaitStatus)
	}{
		{"kill-process", func(t *testing.T, r childResult, ws syscall.WaitStatus) {
			if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
				t.Errorf("child status %v, want killed by SIGSYS", r.state)
			}
		}},
		// TRAP sends SIGSYS to the thread; the Go runtime treats it as fatal.
		{"trap", func(t *testing.T, r childResult, ws syscall.WaitStatus) {
			if !strings.Contains(r.stderr, "SIGSYS") || ws.ExitStatus() != 2 {
				t.Errorf("child status %v stderr %q, want exit 2 with a SIGSYS crash", r.state, r.stderr)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.child, func(t *testing.T) {
			t.Parallel()
			r := runChildCase(t, tt.child)
			if r.kv["loaded"] != "yes" {
				t.Fatalf("filter not loaded:\n%s\n%s", r.stdout, r.stderr)
			}
			if _, ok := r.kv["probe:getpgid(0x0)"]; ok {
				t.Errorf("probe returned; the child should have died in it")
			}
			tt.check(t, r, r.state.Sys().(syscall.WaitStatus))
		})
	}
}

func TestFlagsTSYNCLogSpecAllow(t *testing.T) {
	t.Parallel()
	r := runChildCase(t, "flags-tsync-log-spec-allow")
	r.wantLoaded(t)
	r.wantErrno(t, "getpgid(0x0)", errTest)
	r.wantErrno(t, "getpgid-other-thread", errTest)
	tasks, filtered := r.kv["tasks"], r.kv["filtered-tasks"]
	if n, _ := strconv.Atoi(tasks); n < 4 || filtered != tasks {
		t.Errorf("%s of %s threads have the filter, want all of at least 4", filtered, tasks)
	}
}

func TestLoadAt(t *testing.T) {
	t.Parallel()
	t.Run("with nnp installs before exec", func(t *testing.T) {
		t.Parallel()
		r := runChildCase(t, "loadat-with-nnp")
		r.wantLoaded(t)
		if got := r.kv["filters-after-first"]; got != "0" {
			t.Errorf("filters after LoadAt(BeforeCredentials, nnp) = %q, want 0", got)
		}
		r.wantErrno(t, "getpgid(0x0)", errTest)
	})
	t.Run("nnp requested but not set", func(t *testing.T) {
		t.Parallel()
		r := runChildCase(t, "loadat-nnp-not-set")
		if got := r.kv["load-error"]; !strings.Contains(got, "PR_SET_NO_NEW_PRIVS has not been set") {
			t.Errorf("load error %q, want the missing no_new_privs named\n%s", got, r.stderr)
		}
	})
	t.Run("without nnp installs before credentials", func(t *testing.T) {
		testutil.RequiresRoot(t)
		t.Parallel()
		r := runChildCase(t, "loadat-without-nnp")
		r.wantLoaded(t)
		if a, b := r.kv["filters-after-first"], r.kv["filters-after-second"]; a != "1" || b != "1" {
			t.Errorf("filters after first/second LoadAt = %q/%q, want 1/1", a, b)
		}
		r.wantErrno(t, "getpgid(0x0)", errTest)
	})
	t.Run("without nnp or CAP_SYS_ADMIN fails", func(t *testing.T) {
		testutil.RequiresRoot(t)
		t.Parallel()
		r := runChildCase(t, "no-nnp-no-sys-admin")
		if got := r.kv["load-error"]; !strings.Contains(got, "permission denied") || !strings.Contains(got, "CAP_SYS_ADMIN") {
			t.Errorf("load error %q, want EACCES explained\n%s", got, r.stderr)
		}
	})
}

// BenchmarkCompile measures compiling Docker's default profile to BPF with
// libseccomp (rule database plus BPF generation), in-process.
func BenchmarkCompile(b *testing.B) {
	p := dockerProfile(b)
	for b.Loop() {
		if _, err := Compile(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate measures Validate of Docker's default profile (the rule
// database only, no BPF generation), in-process.
func BenchmarkValidate(b *testing.B) {
	p := dockerProfile(b)
	for b.Loop() {
		if err := Validate(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad measures Load of Docker's default profile (compile and
// install) in a fresh process, as the container init would do it. A filter
// cannot be removed, so each iteration is a child; ns/op is the time spent
// in Load as measured by the child, not the process start.
func BenchmarkLoad(b *testing.B) {
	benchChild(b, "bench-load")
}

// BenchmarkInstall measures installing Docker's default profile precompiled
// (Program.Install, one seccomp(2) call with TSYNC) in a fresh process.
func BenchmarkInstall(b *testing.B) {
	benchChild(b, "bench-install", writeProgram(b, dockerProfile(b)))
}

func benchChild(b *testing.B, child string, env ...string) {
	var total time.Duration
	n := 0
	for b.Loop() {
		r := runChildCase(b, child, env...)
		if r.kv["loaded"] != "yes" {
			b.Fatalf("child: %s %s", r.stdout, r.stderr)
		}
		ns, err := strconv.ParseInt(r.kv["load-ns"], 10, 64)
		if err != nil {
			b.Fatalf("child load-ns %q", r.kv["load-ns"])
		}
		total += time.Duration(ns)
		n++
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(n), "ns/op")
}

package caps

// Apply changes the calling thread's credentials for good, so behavioural
// tests run it in a child: the parent re-executes the test binary with
// childEnv set, TestMain applies the requested capabilities on a locked OS
// thread (optionally switching uid the way the init does, and optionally
// exec'ing busybox), and the child prints /proc/thread-self/status lines
// for the parent to check against masks computed from the names.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/testutil"
)

const childEnv = "BERTH_CAPS_TEST_CHILD"

// childOpts is what the parent asks the child to do, passed as JSON.
type childOpts struct {
	Caps *specs.LinuxCapabilities
	// UID, if non-zero, is switched to (gid too, no supplementary groups)
	// between the optional ApplyBounding and Apply, as the init does.
	UID           int
	BoundingFirst bool // call ApplyBounding before the uid switch (runc's order)
	NoKeepCaps    bool // skip PR_SET_KEEPCAPS before the uid switch
	Exec          bool // exec busybox to print its own capabilities
}

var dockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func TestMain(m *testing.M) {
	if opts := os.Getenv(childEnv); opts != "" {
		os.Exit(runChild(opts))
	}
	os.Exit(m.Run())
}

func runChild(raw string) int {
	runtime.LockOSThread()
	var o childOpts
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	fail := func(step string, err error) int {
		fmt.Printf("error: %s: %s\n", step, strings.ReplaceAll(err.Error(), "\n", " "))
		return 0
	}
	if o.BoundingFirst {
		if _, err := ApplyBounding(o.Caps); err != nil {
			return fail("apply-bounding", err)
		}
	}
	if o.UID != 0 {
		if !o.NoKeepCaps {
			if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
				return fail("keepcaps", err)
			}
		}
		// Raw syscalls change this thread only, like runc's init; exec
		// makes it the only thread that matters.
		id := uintptr(o.UID)
		for _, c := range []struct {
			nr   uintptr
			args [3]uintptr
		}{
			{unix.SYS_SETGROUPS, [3]uintptr{0, 0, 0}},
			{unix.SYS_SETRESGID, [3]uintptr{id, id, id}},
			{unix.SYS_SETRESUID, [3]uintptr{id, id, id}},
		} {
			if _, _, e := unix.RawSyscall(c.nr, c.args[0], c.args[1], c.args[2]); e != 0 {
				return fail(fmt.Sprintf("syscall %d", c.nr), e)
			}
		}
	}
	warnings, err := Apply(o.Caps)
	fmt.Printf("warnings: %d\n", len(warnings))
	for i, w := range warnings {
		fmt.Printf("warning%d: %s\n", i, w)
	}
	if err != nil {
		fail("apply", err)
	}
	if o.Exec {
		argv := []string{"busybox", "grep", "-E", "^(Cap|Uid)", "/proc/self/status"}
		err := syscall.Exec(testutil.BusyboxPath, argv, os.Environ())
		return fail("exec", err)
	}
	data, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return fail("status", err)
	}
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "Cap") || strings.HasPrefix(line, "Uid") {
			fmt.Print(line)
		}
	}
	return 0
}

// runChildOpts runs o in a child and returns its "Key: value" lines.
func runChildOpts(t *testing.T, o childOpts) map[string]string {
	t.Helper()
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kv[k] = strings.TrimSpace(v)
	}
	return kv
}

// maskOf is the /proc/<pid>/status rendering of the named capabilities,
// computed independently of the package under test.
func maskOf(t *testing.T, names ...string) string {
	t.Helper()
	var m uint64
	for _, n := range names {
		found := false
		for _, c := range capability.ListKnown() {
			if "CAP_"+strings.ToUpper(c.String()) == n {
				m |= 1 << uint(c)
				found = true
			}
		}
		if !found {
			t.Fatalf("test bug: unknown capability %s", n)
		}
	}
	return fmt.Sprintf("%016x", m)
}

// wantCaps compares the child's five masks.
func wantCaps(t *testing.T, kv map[string]string, bnd, eff, prm, inh, amb []string) {
	t.Helper()
	if e, ok := kv["error"]; ok {
		t.Fatalf("child failed: %s", e)
	}
	for _, c := range []struct {
		field string
		names []string
	}{
		{"CapBnd", bnd}, {"CapEff", eff}, {"CapPrm", prm}, {"CapInh", inh}, {"CapAmb", amb},
	} {
		if got, want := kv[c.field], maskOf(t, c.names...); got != want {
			t.Errorf("%s = %s, want %s (%v)", c.field, got, want, c.names)
		}
	}
}

func TestApplyAsRoot(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	amb := []string{"CAP_NET_BIND_SERVICE", "CAP_KILL"}
	tests := []struct {
		name                    string
		caps                    *specs.LinuxCapabilities
		bnd, eff, prm, inh, amb []string
	}{
		{
			name: "docker default",
			caps: &specs.LinuxCapabilities{Bounding: dockerCaps, Effective: dockerCaps, Permitted: dockerCaps},
			bnd:  dockerCaps, eff: dockerCaps, prm: dockerCaps,
		},
		{
			name: "nil drops everything",
		},
		{
			name: "all five sets",
			caps: &specs.LinuxCapabilities{
				Bounding: dockerCaps, Effective: []string{"CAP_KILL"}, Permitted: dockerCaps,
				Inheritable: amb, Ambient: amb,
			},
			bnd: dockerCaps, eff: []string{"CAP_KILL"}, prm: dockerCaps, inh: amb, amb: amb,
		},
		{
			name: "capabilities above 31",
			caps: &specs.LinuxCapabilities{
				Bounding:  []string{"CAP_BPF", "CAP_CHECKPOINT_RESTORE", "CAP_KILL"},
				Effective: []string{"CAP_BPF"}, Permitted: []string{"CAP_BPF", "CAP_CHECKPOINT_RESTORE"},
			},
			bnd: []string{"CAP_BPF", "CAP_CHECKPOINT_RESTORE", "CAP_KILL"},
			eff: []string{"CAP_BPF"}, prm: []string{"CAP_BPF", "CAP_CHECKPOINT_RESTORE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kv := runChildOpts(t, childOpts{Caps: tt.caps})
			wantCaps(t, kv, tt.bnd, tt.eff, tt.prm, tt.inh, tt.amb)
			if kv["warnings"] != "0" {
				t.Errorf("warnings: %s (%s)", kv["warnings"], kv["warning0"])
			}
		})
	}
}

func TestApplyUnknownNamesWarns(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	names := []string{"CAP_CHOWN", "CAP_NOT_A_CAPABILITY"}
	kv := runChildOpts(t, childOpts{Caps: &specs.LinuxCapabilities{Bounding: names, Effective: names, Permitted: names}})
	wantCaps(t, kv, []string{"CAP_CHOWN"}, []string{"CAP_CHOWN"}, []string{"CAP_CHOWN"}, nil, nil)
	if kv["warnings"] != "1" || !strings.Contains(kv["warning0"], "CAP_NOT_A_CAPABILITY") {
		t.Errorf("warnings %s: %q, want one naming CAP_NOT_A_CAPABILITY", kv["warnings"], kv["warning0"])
	}
}

func TestApplyRefusesBeforeChangingAnything(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	own, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	kv := runChildOpts(t, childOpts{Caps: &specs.LinuxCapabilities{
		Bounding: dockerCaps, Effective: dockerCaps, Permitted: dockerCaps,
		Ambient: []string{"CAP_NET_BIND_SERVICE"}, // not inheritable
	}})
	if !strings.Contains(kv["error"], "ambient capability CAP_NET_BIND_SERVICE") {
		t.Fatalf("error %q, want the ambient capability named", kv["error"])
	}
	for line := range strings.Lines(string(own)) {
		k, v, _ := strings.Cut(line, ":")
		if k == "CapEff" || k == "CapBnd" {
			if got := kv[k]; got != strings.TrimSpace(v) {
				t.Errorf("%s changed to %s by a refused Apply (was %s)", k, got, strings.TrimSpace(v))
			}
		}
	}
}

func TestApplyAfterUIDChange(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	kill := []string{"CAP_KILL"}
	tests := []struct {
		name string
		opts childOpts
		caps []string // B = E = P; I and A empty
	}{
		// KEEPCAPS kept the permitted set; Apply raises CAP_SETPCAP from it
		// to drop the bounding set, then sets E/P.
		{"apply only, docker caps", childOpts{UID: 1000}, dockerCaps},
		{"apply only, without CAP_SETPCAP in the result", childOpts{UID: 1000}, kill},
		// runc's order: bounding set first, while still uid 0.
		{"bounding first, docker caps", childOpts{UID: 1000, BoundingFirst: true}, dockerCaps},
		{"bounding first, without CAP_SETPCAP in the result", childOpts{UID: 1000, BoundingFirst: true}, kill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Caps = &specs.LinuxCapabilities{Bounding: tt.caps, Effective: tt.caps, Permitted: tt.caps}
			kv := runChildOpts(t, tt.opts)
			wantCaps(t, kv, tt.caps, tt.caps, tt.caps, nil, nil)
			if got := strings.Fields(kv["Uid"]); len(got) != 4 || got[0] != "1000" || got[1] != "1000" {
				t.Errorf("Uid = %q, want 1000 real and effective", kv["Uid"])
			}
		})
	}
	t.Run("without keepcaps the bounding set cannot be dropped", func(t *testing.T) {
		t.Parallel()
		kv := runChildOpts(t, childOpts{UID: 1000, NoKeepCaps: true, Caps: &specs.LinuxCapabilities{
			Bounding: kill, Effective: kill, Permitted: kill,
		}})
		if !strings.Contains(kv["error"], "CAP_SETPCAP is not in the permitted set") {
			t.Errorf("error %q, want the missing CAP_SETPCAP explained", kv["error"])
		}
	})
}

func TestAmbientSurvivesExec(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := os.Stat(testutil.BusyboxPath); err != nil {
		t.Skipf("busybox-static not installed: %v", err)
	}
	t.Parallel()
	amb := []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}
	inh := append([]string{"CAP_KILL"}, amb...)
	kv := runChildOpts(t, childOpts{UID: 1000, Exec: true, Caps: &specs.LinuxCapabilities{
		Bounding: dockerCaps, Effective: inh, Permitted: inh, Inheritable: inh, Ambient: amb,
	}})
	// busybox has no file capabilities and uid 1000 is not root, so after
	// execve: P' = E' = ambient, I' = I, bounding unchanged.
	wantCaps(t, kv, dockerCaps, amb, amb, inh, amb)
	if got := strings.Fields(kv["Uid"]); len(got) == 0 || got[0] != "1000" {
		t.Errorf("Uid = %q after exec, want 1000", kv["Uid"])
	}
}

func TestApplyBoundingOnlyTouchesBounding(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	// The child calls ApplyBounding, then an Apply that refuses up front
	// (effective not permitted), so what it prints is ApplyBounding's work.
	own, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	kv := runChildOpts(t, childOpts{BoundingFirst: true, Caps: &specs.LinuxCapabilities{
		Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_CHOWN"},
	}})
	if !strings.Contains(kv["error"], "CAP_CHOWN is in the effective set but not in the permitted set") {
		t.Fatalf("error %q, want Apply's refusal", kv["error"])
	}
	if got, want := kv["CapBnd"], maskOf(t, "CAP_KILL"); got != want {
		t.Errorf("CapBnd = %s, want %s", got, want)
	}
	for line := range strings.Lines(string(own)) {
		k, v, _ := strings.Cut(line, ":")
		if k == "CapEff" || k == "CapPrm" {
			if got := kv[k]; got != strings.TrimSpace(v) {
				t.Errorf("%s = %s after ApplyBounding, want unchanged %s", k, got, strings.TrimSpace(v))
			}
		}
	}
}

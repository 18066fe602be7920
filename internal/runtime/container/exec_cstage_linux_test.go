package container

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dockerseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCExecEligibility: only what needs the Go stage goes to it.
func TestCExecEligibility(t *testing.T) {
	prio := &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE}
	sched := &specs.Scheduler{Policy: specs.SchedOther}
	cases := []struct {
		name  string
		p     specs.Process
		env   string
		wantC bool
	}{
		{"plain", specs.Process{Args: []string{"true"}}, "", true},
		{"terminal", specs.Process{Args: []string{"true"}, Terminal: true}, "", false},
		{"io priority", specs.Process{Args: []string{"true"}, IOPriority: prio}, "", false},
		{"scheduler", specs.Process{Args: []string{"true"}, Scheduler: sched}, "", false},
		{"forced go", specs.Process{Args: []string{"true"}}, "1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BERTH_RUNTIME_GO_EXEC", tc.env)
			e, err := cExec(&tc.p, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if (e != nil) != tc.wantC {
				t.Fatalf("C stage = %v, want %v", e != nil, tc.wantC)
			}
		})
	}
}

// TestExecCStageMatchesGoStage runs the same execs through the C stage and
// through the Go stage (BERTH_RUNTIME_GO_EXEC=1) and compares what the
// process sees: credentials, umask, HOME, cwd, capabilities, no_new_privs,
// seccomp, limits, descriptors, and the errors of bad processes.
func TestExecCStageMatchesGoStage(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"sleep", "100"}, func(s *specs.Spec) {
		s.Linux.Seccomp, _ = dockerseccomp.GetDefaultProfile(s)
	})
	if err := os.WriteFile(filepath.Join(b.Rootfs(), "etc", "passwd"),
		[]byte("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\nnohome:x:1001:1001:::/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := rt.Create("cstage", CreateOpts{Bundle: b.Dir, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(true) })
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	probe := "id; umask; echo HOME=$HOME; pwd; grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; " +
		"grep -E 'open files|processes' /proc/self/limits; ls /proc/self/fd | tr '\\n' ' '; echo"
	umask := uint32(0o077)
	base := *b.Spec.Process
	type execCase struct {
		name string
		edit func(p *specs.Process)
		// onlyInside: the two stages hold different descriptors (the Go
		// runtime's own), so only "refused or inside the root" is
		// compared.
		onlyInside bool
	}
	cases := []execCase{
		{"spec process", nil, false},
		{"user, groups, umask, cwd", func(p *specs.Process) {
			p.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 7}, Umask: &umask}
			p.Cwd = "/tmp"
		}, false},
		{"no HOME entry", func(p *specs.Process) { p.User = specs.User{UID: 1001, GID: 1001} }, false},
		{"unknown uid", func(p *specs.Process) { p.User = specs.User{UID: 4242, GID: 4242} }, false},
		{"HOME in env", func(p *specs.Process) { p.Env = append(p.Env, "HOME=/elsewhere") }, false},
		{"no_new_privs and fewer caps", func(p *specs.Process) {
			p.NoNewPrivileges = true
			p.Capabilities = &specs.LinuxCapabilities{
				Bounding: []string{"CAP_CHOWN", "CAP_NET_RAW", "CAP_SETPCAP"}, Effective: []string{"CAP_CHOWN"},
				Permitted: []string{"CAP_CHOWN", "CAP_NET_RAW"}, Inheritable: []string{"CAP_NET_RAW"},
				Ambient: []string{"CAP_NET_RAW"},
			}
		}, false},
		{"no_new_privs off", func(p *specs.Process) { p.NoNewPrivileges = false }, false},
		{"rlimits", func(p *specs.Process) {
			p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}, {Type: "RLIMIT_NPROC", Soft: 50, Hard: 60}}
		}, false},
		{"preserved fds not leaked", func(p *specs.Process) { p.Args = []string{"ls", "/proc/self/fd"} }, false},
		{"missing binary", func(p *specs.Process) { p.Args = []string{"/no/such/binary"} }, false},
		{"not in PATH", func(p *specs.Process) { p.Args = []string{"nosuchcommand"} }, false},
		{"missing cwd", func(p *specs.Process) { p.Cwd = "/no/such/dir" }, false},
	}
	// CVE-2024-21626: a cwd given as a descriptor the runtime holds.
	for fd := 3; fd <= 9; fd++ {
		cases = append(cases, execCase{fmt.Sprintf("cwd /proc/self/fd/%d", fd), func(p *specs.Process) {
			p.Cwd = fmt.Sprintf("/proc/self/fd/%d", fd)
			p.Args = []string{"pwd"}
		}, true})
	}
	execIn := func(t *testing.T, p specs.Process, goStage bool) string {
		t.Helper()
		if goStage {
			t.Setenv("BERTH_RUNTIME_GO_EXEC", "1")
		} else {
			t.Setenv("BERTH_RUNTIME_GO_EXEC", "")
		}
		out := newOutput(t)
		proc, err := c.Exec(ExecOpts{Process: &p, Stdin: devNull(t), Stdout: out.w, Stderr: out.w})
		if err != nil {
			return "error: " + err.Error()
		}
		code, err := proc.Wait()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("exit %d\n%s", code, out.text(t))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.Args = []string{"sh", "-c", probe}
			if tc.edit != nil {
				tc.edit(&p)
			}
			cOut := execIn(t, p, false)
			goOut := execIn(t, p, true)
			if tc.onlyInside {
				for _, out := range []string{cOut, goOut} {
					if !strings.HasPrefix(out, "error: ") && !strings.HasPrefix(out, "exit 0\n/") {
						t.Fatalf("cwd escaped the root: %q", out)
					}
				}
				return
			}
			if cOut != goOut {
				t.Fatalf("C stage:\n%s\nGo stage:\n%s", cOut, goOut)
			}
			if strings.Contains(cOut, "unreachable") {
				t.Fatalf("cwd escaped the root:\n%s", cOut)
			}
			t.Logf("%s", cOut)
		})
	}
	// The exec'd process runs under the container's filter in both.
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return
	}
	src := filepath.Join(t.TempDir(), "probe.c")
	if err := os.WriteFile(src, []byte(probeSource), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-static", "-O1", "-o", filepath.Join(b.Rootfs(), "probe"), src).CombinedOutput(); err != nil {
		t.Skipf("cannot build a static probe: %v: %s", err, out)
	}
	for _, goStage := range []bool{false, true} {
		p := base
		p.Args = []string{"/probe"}
		if out := execIn(t, p, goStage); out != "exit 0\nkeyctl=1\nclone3=38\ngetpid=0\n" {
			t.Fatalf("seccomp probe (Go stage %v): %q", goStage, out)
		}
	}
}

// TestExecCStageUserNamespace: an exec into a container with its own user
// namespace, both stages, as the mapped root and as a mapped user.
func TestExecCStageUserNamespace(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"sleep", "100"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	})
	c, err := rt.Create("cstage-userns", CreateOpts{Bundle: b.Dir, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(true) })
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for _, user := range []specs.User{{UID: 0, GID: 0}, {UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}} {
		var outs [2]string
		for i, goStage := range []bool{false, true} {
			if goStage {
				t.Setenv("BERTH_RUNTIME_GO_EXEC", "1")
			} else {
				t.Setenv("BERTH_RUNTIME_GO_EXEC", "")
			}
			p := *b.Spec.Process
			p.User = user
			p.Args = []string{"sh", "-c", "cat /proc/self/uid_map; id; grep -E '^Cap(Eff|Bnd)' /proc/self/status"}
			out := newOutput(t)
			proc, err := c.Exec(ExecOpts{Process: &p, Stdin: devNull(t), Stdout: out.w, Stderr: out.w})
			if err != nil {
				t.Fatalf("exec as %v (Go stage %v): %v", user, goStage, err)
			}
			code, err := proc.Wait()
			if err != nil || code != 0 {
				t.Fatalf("exec as %v (Go stage %v): code %d, %v: %s", user, goStage, code, err, out.text(t))
			}
			outs[i] = out.text(t)
		}
		if outs[0] != outs[1] || !strings.Contains(outs[0], "100000") {
			t.Fatalf("as %v: C stage:\n%s\nGo stage:\n%s", user, outs[0], outs[1])
		}
	}
}

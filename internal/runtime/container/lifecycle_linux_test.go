package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestRunOutputAndExitCodes(t *testing.T) {
	rt := newRuntime(t)
	hostPid := func(s *specs.Spec) {
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.PIDNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns
	}
	cases := []struct {
		name string
		args []string
		edit func(*specs.Spec)
		code int
		out  string
	}{
		{"echo", []string{"echo", "hello"}, nil, 0, "hello\n"},
		{"exit code", []string{"sh", "-c", "exit 3"}, nil, 3, ""},
		// A pid namespace's init ignores signals it has no handler for, even
		// SIGKILL from inside: test 128+n without one.
		{"killed by signal", []string{"sh", "-c", "kill -9 $$"}, hostPid, 128 + 9, ""},
		{"pid 1", []string{"sh", "-c", "echo $$"}, nil, 0, "1\n"},
		{"hostname", []string{"hostname"}, nil, 0, "berth\n"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bundle(t, c.args, c.edit)
			code, out := run(t, rt, "run"+strconv.Itoa(i), b)
			if code != c.code || out != c.out {
				t.Fatalf("got code %d output %q, want %d %q", code, out, c.code, c.out)
			}
			cgroupGone(t, b.Spec.Linux.CgroupsPath)
		})
	}
}

func TestLifecycleStates(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"sleep", "100"}, nil)
	c, err := rt.Create("life", CreateOpts{Bundle: b.Dir, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	st := c.State()
	if st.Status != Created || st.Pid <= 0 || st.Bundle != b.Dir || st.ID != "life" {
		t.Fatalf("after create: %+v", st)
	}
	if _, err := rt.Create("life", CreateOpts{Bundle: b.Dir}); !errors.Is(err, ErrExist) {
		t.Fatalf("second create: %v, want ErrExist", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if s := c.Status(); s != Running {
		t.Fatalf("after start: %s", s)
	}
	if err := c.Start(); err == nil {
		t.Fatal("second start succeeded")
	}
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	if s := c.Status(); s != Paused {
		t.Fatalf("after pause: %s", s)
	}
	if err := c.Delete(false); err == nil {
		t.Fatal("delete of a paused container without force succeeded")
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if s := c.Status(); s != Running {
		t.Fatalf("after resume: %s", s)
	}
	list, err := rt.List()
	if err != nil || len(list) != 1 || list[0].ID() != "life" {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := c.Signal(unix.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(); err != nil || code != 137 {
		t.Fatalf("wait: %d %v", code, err)
	}
	if s := c.Status(); s != Stopped {
		t.Fatalf("after kill: %s", s)
	}
	if err := c.Signal(unix.SIGTERM, false); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("kill of a stopped container: %v", err)
	}
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Load("life"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("load after delete: %v", err)
	}
	cgroupGone(t, b.Spec.Linux.CgroupsPath)
}

func TestDeleteCreatedAndForce(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"sleep", "100"}, nil)
	c, err := rt.Create("created", CreateOpts{Bundle: b.Dir, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	// The spec: deleting a container that is not stopped is an error with
	// no effect; force kills it.
	if err := c.Delete(false); err == nil || !strings.Contains(err.Error(), "not stopped") {
		t.Fatalf("delete of a created container: %v", err)
	}
	if s := c.Status(); s != Created {
		t.Fatalf("after a refused delete: %s", s)
	}
	if err := c.Delete(true); err != nil {
		t.Fatalf("forced delete of a created container: %v", err)
	}
	if err := unix.Kill(pid, 0); err == nil {
		if st, _, _ := procStat(pid); st != 'Z' {
			t.Fatalf("init %d still alive after delete", pid)
		}
	}
	b2 := bundle(t, []string{"sleep", "100"}, nil)
	c2, err := rt.Create("running", CreateOpts{Bundle: b2.Dir, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c2.Delete(false); err == nil || !strings.Contains(err.Error(), "not stopped") {
		t.Fatalf("delete of a running container: %v", err)
	}
	if err := c2.Delete(true); err != nil {
		t.Fatal(err)
	}
	cgroupGone(t, b.Spec.Linux.CgroupsPath)
	cgroupGone(t, b2.Spec.Linux.CgroupsPath)
}

func TestExec(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"sleep", "100"}, func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "FROM_SPEC=1")
	})
	c, err := rt.Create("exec", CreateOpts{Bundle: b.Dir, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	execIn := func(p specs.Process) (int, string) {
		t.Helper()
		out := newOutput(t)
		proc, err := c.Exec(ExecOpts{Process: &p, Stdin: devNull(t), Stdout: out.w, Stderr: out.w})
		if err != nil {
			t.Fatalf("exec %v: %v", p.Args, err)
		}
		code, err := proc.Wait()
		if err != nil {
			t.Fatal(err)
		}
		return code, out.text(t)
	}
	base := *b.Spec.Process
	p := base
	p.Args = []string{"sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $FROM_SPEC; hostname; pwd"}
	p.Cwd = "/tmp"
	code, out := execIn(p)
	if code != 0 || out != "sleep 100 \n1\nberth\n/tmp\n" {
		t.Fatalf("exec: code %d output %q", code, out)
	}
	p = base
	p.Args = []string{"sh", "-c", "exit 5"}
	if code, _ := execIn(p); code != 5 {
		t.Fatalf("exec exit code %d, want 5", code)
	}
	p = base
	p.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}
	p.Args = []string{"id"}
	// Supplementary groups are exactly additionalGids, as with runc.
	if _, out := execIn(p); out != "uid=1000 gid=1000 groups=5\n" {
		t.Fatalf("exec as user: %q", out)
	}
	// The exec'd process is in the container's cgroup.
	p = base
	p.Args = []string{"cat", "/proc/self/cgroup"}
	_, out = execIn(p)
	if !strings.Contains(out, "memory:/") {
		t.Fatalf("exec cgroup: %q", out)
	}
	p = base
	p.Args = []string{"/no/such/binary"}
	if _, err := c.Exec(ExecOpts{Process: &p, Stdin: devNull(t)}); err == nil {
		t.Fatal("exec of a missing binary succeeded")
	}
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	p = base
	p.Args = []string{"true"}
	if _, err := c.Exec(ExecOpts{Process: &p}); !errors.Is(err, ErrPaused) {
		t.Fatalf("exec in a paused container: %v", err)
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ExecOpts{Process: &p}); err == nil {
		t.Fatal("exec in a deleted container succeeded")
	}
}

// Bad bundles fail with a clear message and leave nothing behind.
func TestBadBundles(t *testing.T) {
	rt := newRuntime(t)
	cases := []struct {
		name string
		edit func(t *testing.T, b string, s *specs.Spec)
		want string
	}{
		{"missing rootfs", func(t *testing.T, b string, s *specs.Spec) { s.Root.Path = "nope" }, "rootfs"},
		{"invalid json", func(t *testing.T, b string, s *specs.Spec) {
			if err := os.WriteFile(filepath.Join(b, "config.json"), []byte("{not json"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "invalid config.json"},
		{"unknown namespace", func(t *testing.T, b string, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, "bogus"},
		{"missing namespace path", func(t *testing.T, b string, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces[:0:0], specs.LinuxNamespace{Type: specs.MountNamespace},
				specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/999999999/ns/net"})
		}, "/proc/999999999/ns/net"},
		{"namespace path of another type", func(t *testing.T, b string, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces[:0:0], specs.LinuxNamespace{Type: specs.MountNamespace},
				specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/self/ns/uts"})
		}, "another type"},
		{"bad mount", func(t *testing.T, b string, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/no/such/source", Options: []string{"bind"}})
		}, "/no/such/source"},
		{"empty args", func(t *testing.T, b string, s *specs.Spec) { s.Process.Args = nil }, "args"},
		{"missing binary", func(t *testing.T, b string, s *specs.Spec) { s.Process.Args = []string{"nosuchcmd"} }, "nosuchcmd"},
		{"bad rlimit", func(t *testing.T, b string, s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1}}
		}, "RLIMIT_BOGUS"},
		{"hostname without uts", func(t *testing.T, b string, s *specs.Spec) {
			var ns []specs.LinuxNamespace
			for _, n := range s.Linux.Namespaces {
				if n.Type != specs.UTSNamespace {
					ns = append(ns, n)
				}
			}
			s.Linux.Namespaces = ns
		}, "UTS"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bundle(t, []string{"true"}, nil)
			c.edit(t, b.Dir, b.Spec)
			if c.name != "invalid json" {
				b.Save(t)
			}
			id := "bad" + strconv.Itoa(i)
			_, err := rt.Create(id, CreateOpts{Bundle: b.Dir, Stdin: devNull(t)})
			if err == nil {
				t.Fatal("create succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(rt.Root(), id)); !os.IsNotExist(err) {
				t.Fatalf("state directory left behind: %v", err)
			}
			cgroupGone(t, b.Spec.Linux.CgroupsPath)
		})
	}
	if _, err := rt.Create("../escape", CreateOpts{Bundle: "."}); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("bad id: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

// The init joins every hierarchy (v1 tasks by its own thread, the hybrid
// unified one through clone3) before anything of the container runs, and
// with a user namespace through the C stage.
func TestInitInEveryCgroup(t *testing.T) {
	rt := newRuntime(t)
	for _, userns := range []bool{false, true} {
		b := bundle(t, []string{"sleep", "100"}, func(s *specs.Spec) {
			if userns {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
				s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
				s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			}
		})
		id := "cg" + strconv.FormatBool(userns)
		c, err := rt.Create(id, CreateOpts{Bundle: b.Dir, Stdin: devNull(t)})
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid()) + "/cgroup")
		if err != nil {
			t.Fatal(err)
		}
		want := b.Spec.Linux.CgroupsPath
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if !strings.HasSuffix(line, want) {
				t.Errorf("userns=%v: %q is not in %s", userns, line, want)
			}
		}
		if err := c.Delete(true); err != nil {
			t.Fatal(err)
		}
		cgroupGone(t, want)
	}
}

// TestStartOnSocket: `run`'s start (CreateOpts.StartOnSocket). Others see
// the container as created but cannot start it; its creator can; and an
// init whose creator went away never runs the container's process.
func TestStartOnSocket(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"sh", "-c", "echo ran && touch /ran"}, func(s *specs.Spec) { s.Root.Readonly = false })
	marker := filepath.Join(b.Rootfs(), "ran")
	out := newOutput(t)
	c, err := rt.Create("sock", CreateOpts{Bundle: b.Dir, Stdin: devNull(t), Stdout: out.w, Stderr: out.w, StartOnSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.start == nil {
		t.Fatal("the init does not wait on its socket: the bundle did not take the C init")
	}
	other, err := rt.Load("sock")
	if err != nil {
		t.Fatal(err)
	}
	if st := other.Status(); st != Created {
		t.Fatalf("status seen by another process: %s, want created", st)
	}
	if err := other.Start(); err == nil || !strings.Contains(err.Error(), "only the process that created it") {
		t.Fatalf("start by another process: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(); err != nil || code != 0 {
		t.Fatalf("wait: %d %v", code, err)
	}
	if got := out.text(t); got != "ran\n" {
		t.Fatalf("output %q", got)
	}
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatalf("the container's process left no marker: %v", err)
	}

	b2 := bundle(t, []string{"touch", "/ran"}, func(s *specs.Spec) { s.Root.Path = b.Rootfs(); s.Root.Readonly = false })
	c2, err := rt.Create("orphan", CreateOpts{Bundle: b2.Dir, Stdin: devNull(t), StartOnSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	if c2.start == nil {
		t.Fatal("the init does not wait on its socket")
	}
	c2.start.close() // what the creator's death does
	c2.start = nil
	if code, err := c2.Wait(); err != nil || code != 1 {
		t.Fatalf("init without its creator: exit %d %v, want 1", code, err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the container's process ran: %v", err)
	}
	if err := c2.Delete(false); err != nil {
		t.Fatal(err)
	}
}

// TestDeviceNodesNotHostBinds: the init makes its device nodes only once
// the devices cgroup's rules are written (nsexec.ExecLimits): while the
// parent writes them every mknod is refused, and the init would fall back
// to binding the host's nodes (whose owner is the host's business).
func TestDeviceNodesNotHostBinds(t *testing.T) {
	rt := newRuntime(t)
	for i := 0; i < 10; i++ {
		b := bundle(t, []string{"sh", "-c", `grep -c ' /dev/null ' /proc/self/mountinfo; stat -c '%F %u:%g' /dev/null`}, nil)
		code, out := run(t, rt, fmt.Sprintf("devnodes%d", i), b)
		if code != 0 || out != "0\ncharacter special file 0:0\n" {
			t.Fatalf("run %d: exit %d, output %q: want /dev/null a node of its own, owned by root", i, code, out)
		}
	}
}

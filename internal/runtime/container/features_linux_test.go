package container

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// All six hook kinds run, in order, each with the state on stdin.
func TestHooks(t *testing.T) {
	rt := newRuntime(t)
	log := filepath.Join(t.TempDir(), "hooks.log")
	// Hooks run on the host except createContainer/startContainer, which
	// run in the container: give those a path that exists in both (the
	// bundle's busybox) writing to a file visible from the container.
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `read s; echo "` + name + ` $s" >> ` + log}}
	}
	b := bundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: filepath.Dir(log), Source: filepath.Dir(log), Type: "bind", Options: []string{"bind"}})
		s.Hooks = &specs.Hooks{
			Prestart:        []specs.Hook{hook("prestart")},
			CreateRuntime:   []specs.Hook{hook("createRuntime")},
			CreateContainer: []specs.Hook{hook("createContainer")},
			StartContainer:  []specs.Hook{hook("startContainer")},
			Poststart:       []specs.Hook{hook("poststart")},
			Poststop:        []specs.Hook{hook("poststop")},
		}
	})
	code, _ := run(t, rt, "hooks", b)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		kind, state, _ := strings.Cut(line, " ")
		var st specs.State
		if err := json.Unmarshal([]byte(state), &st); err != nil || st.ID != "hooks" || st.Bundle != b.Dir {
			t.Fatalf("hook %s got state %q (%v)", kind, state, err)
		}
		kinds = append(kinds, kind)
	}
	// poststart may race the container's exit; all else is ordered.
	got := strings.Join(kinds, " ")
	want1 := "prestart createRuntime createContainer startContainer poststart poststop"
	if got != want1 {
		t.Fatalf("hooks ran as %q, want %q", got, want1)
	}
}

func TestFailingHookFailsCreate(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/false"}}}
	})
	if _, err := rt.Create("badhook", CreateOpts{Bundle: b.Dir, Stdin: devNull(t)}); err == nil || !strings.Contains(err.Error(), "createRuntime") {
		t.Fatalf("create with a failing hook: %v", err)
	}
	cgroupGone(t, b.Spec.Linux.CgroupsPath)
}

// A terminal container sends its pty master over the console socket; what
// the container writes arrives on it, with /dev/console and a tty.
// The C init and the Go init both hand the pty master over the console
// socket and make its slave the process's terminal and /dev/console.
func TestConsoleSocket(t *testing.T) {
	for _, mode := range []string{"c", "go"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "go" {
				t.Setenv("BERTH_RUNTIME_GO_INIT", "1")
			}
			testConsoleSocket(t, mode == "c")
		})
	}
}

func testConsoleSocket(t *testing.T, wantC bool) {
	rt := newRuntime(t)
	sockPath := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.Listen("unix", sockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan *os.File, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		f, _ := conn.(*net.UnixConn).File()
		conn.Close()
		m, err := RecvFd(f)
		f.Close()
		if err != nil {
			got <- nil
			return
		}
		got <- m
	}()
	b := bundle(t, []string{"sh", "-c", "tty; stty size; ls -l /dev/console | cut -c1"}, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}
	})
	spec, err := LoadSpec(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planNamespaces(spec.Linux)
	if err != nil {
		t.Fatal(err)
	}
	if in, _, err := cInit(spec, plan, filepath.Join(b.Dir, "rootfs"), b.Dir, CreateOpts{}, nil); err != nil || (in != nil) != wantC {
		t.Fatalf("C init chosen: %v (%v), want %v", in != nil, err, wantC)
	}
	c, err := rt.Create("tty", CreateOpts{Bundle: b.Dir, ConsoleSocket: sockPath})
	if err != nil {
		t.Fatal(err)
	}
	master := <-got
	if master == nil {
		t.Fatal("no pty master received")
	}
	defer master.Close()
	if master.Name() != "/dev/ptmx" {
		t.Errorf("console message body %q, want /dev/ptmx (runc's)", master.Name())
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	outc := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(master) // EIO once the slave closes
		outc <- string(data)
	}()
	if code, err := c.Wait(); err != nil || code != 0 {
		t.Fatalf("wait: %d %v", code, err)
	}
	var out string
	select {
	case out = <-outc:
	case <-time.After(5 * time.Second):
		t.Fatal("pty output did not end")
	}
	out = strings.ReplaceAll(out, "\r", "")
	if !strings.Contains(out, "/dev/pts/0\n30 100\nc\n") {
		t.Fatalf("terminal output %q", out)
	}
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
}

func TestUserNamespace(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	})
	// The mapped root must be able to read its rootfs.
	code, out := run(t, rt, "userns", b)
	fields := strings.Fields(out)
	want := "0 100000 65536 0 100000 65536 0"
	if code != 0 || strings.Join(fields, " ") != want {
		t.Fatalf("userns: code %d output %q, want %q", code, out, want)
	}
}

// A namespace given by path is joined: the second container shares the
// first one's network namespace.
func TestJoinNamespaceByPath(t *testing.T) {
	rt := newRuntime(t)
	b1 := bundle(t, []string{"sleep", "100"}, nil)
	c1, err := rt.Create("ns1", CreateOpts{Bundle: b1.Dir, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Start(); err != nil {
		t.Fatal(err)
	}
	netns := fmt.Sprintf("/proc/%d/ns/net", c1.Pid())
	want, err := os.Readlink(netns)
	if err != nil {
		t.Fatal(err)
	}
	b2 := bundle(t, []string{"readlink", "/proc/self/ns/net"}, func(s *specs.Spec) {
		for i, n := range s.Linux.Namespaces {
			if n.Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = netns
			}
		}
	})
	code, out := run(t, rt, "ns2", b2)
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("joined netns %q (code %d), want %q", out, code, want)
	}
	if err := c1.Delete(true); err != nil {
		t.Fatal(err)
	}
}

func TestSysctlRlimitsUmaskOOM(t *testing.T) {
	rt := newRuntime(t)
	umask := uint32(0o027)
	oom := 321
	b := bundle(t, []string{"sh", "-c", "cat /proc/sys/net/ipv4/ip_forward; ulimit -n; umask; cat /proc/self/oom_score_adj"}, func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 321, Hard: 654}}
		s.Process.User.Umask = &umask
		s.Process.OOMScoreAdj = &oom
	})
	code, out := run(t, rt, "knobs", b)
	if code != 0 || strings.Join(strings.Fields(out), " ") != "1 321 0027 321" {
		t.Fatalf("code %d output %q", code, out)
	}
}

// runc parity: HOME from the container's passwd, a missing cwd is made, lo
// is up in a new network namespace, and unknown capabilities are refused.
func TestProcessEnvironmentParity(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"sh", "-c", "echo $HOME; pwd; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags"}, func(s *specs.Spec) {
		s.Process.User.UID = 1
		s.Process.Cwd = "/does/not/exist" // the default spec has a new network namespace
	})
	code, out := run(t, rt, "parity", b)
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 4 || lines[0] != "/usr/sbin" || lines[1] != "/does/not/exist" || lines[3] != "0x9" {
		t.Fatalf("code %d output %q", code, out)
	}
	bad := bundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_TEST")
	})
	if _, err := rt.Create("badcap", CreateOpts{Bundle: bad.Dir}); err == nil || !strings.Contains(err.Error(), "CAP_TEST") {
		t.Fatalf("unknown capability: %v", err)
	}
}

// A new time namespace with offsets: the container's boottime clock (as
// /proc/uptime shows it) runs a day ahead of the host's.
func TestTimeNamespaceOffsets(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("kernel without time namespaces")
	}
	rt := newRuntime(t)
	b := bundle(t, []string{"cat", "/proc/uptime"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 86400}, "monotonic": {Secs: 3600}}
	})
	host, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	code, out := run(t, rt, "timens", b)
	var hostUp, ctrUp float64
	fmt.Sscan(string(host), &hostUp)
	fmt.Sscan(out, &ctrUp)
	if code != 0 || ctrUp-hostUp < 86400-5 || ctrUp-hostUp > 86400+5 {
		t.Fatalf("code %d: container uptime %v, host %v; want a day ahead", code, ctrUp, hostUp)
	}
}

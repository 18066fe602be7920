package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/testutil"
)

// These tests drive the berth-runtime binary the way a user or a containerd
// shim does: one process per verb, a private --root, and only what the
// command line and the kernel show (state JSON, /proc, cgroupfs, ptys) as
// evidence.

// cliTimeout bounds one berth-runtime invocation. Every verb returns at once
// and every container used with `run` exits within a second or two.
const cliTimeout = 20 * time.Second

// sleeper is an init that stays put with a fixed set of processes (sh and
// one sleep, so `ps` has exactly two rows) and exits 0 on SIGTERM: pid 1 of a
// pid namespace ignores signals it has no handler for, and `wait` is
// interrupted by a trapped signal where a foreground sleep would delay it.
var sleeper = []string{"sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`}

var cliSeq atomic.Int64

// cliEnv is one --root and the binary that uses it.
type cliEnv struct {
	bin  string
	root string
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	testutil.RequiresRoot(t)
	return &cliEnv{bin: berthRuntime(t), root: t.TempDir()}
}

// sub is a second environment with the same binary and a --root of its own.
func (e *cliEnv) sub(t *testing.T) *cliEnv {
	return &cliEnv{bin: e.bin, root: t.TempDir()}
}

// cliContainer is a bundle with a container id and a cgroup of its own.
type cliContainer struct {
	id, bundle, cgroup string
}

// container makes a busybox bundle running args with a unique id and
// linux.cgroupsPath. When the test ends the container is deleted with
// --force and any cgroup directory left behind is removed.
func (e *cliEnv) container(t *testing.T, args []string, edit func(*specs.Spec)) cliContainer {
	t.Helper()
	n := cliSeq.Add(1)
	c := cliContainer{
		id:     fmt.Sprintf("berth-cli-%d-%d", os.Getpid(), n),
		cgroup: fmt.Sprintf("/berth-cli-test-%d-%d", os.Getpid(), n),
	}
	b := testutil.NewBundle(t, args, func(s *specs.Spec) {
		s.Linux.CgroupsPath = c.cgroup
		if edit != nil {
			edit(s)
		}
	})
	c.bundle = b.Dir
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
		defer cancel()
		_ = exec.CommandContext(ctx, e.bin, "--root", e.root, "delete", "--force", c.id).Run()
		for _, dir := range cgroupDirs(c.cgroup) {
			if err := os.Remove(dir); err != nil {
				t.Logf("cgroup %s left behind: %v", dir, err)
			}
		}
	})
	return c
}

// cgroupDirs lists the directories that path names in the mounted cgroup
// hierarchies and that exist.
func cgroupDirs(path string) []string {
	var dirs []string
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hierarchies {
		if fi, err := os.Lstat(h); err != nil || !fi.IsDir() {
			continue // cpu,cpuacct -> cpu and the like
		}
		dir := filepath.Join(h, path)
		if _, err := os.Stat(dir); err == nil {
			dirs = append(dirs, dir)
		}
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path, "cgroup.procs")); err == nil {
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup", path)) // pure cgroup v2 host
	}
	return dirs
}

type cliResult struct {
	exit           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.exit, r.stdout, r.stderr)
}

// cliProc is one berth-runtime process. Its stdout and stderr go to files,
// not pipes: a detached container inherits them and would otherwise keep
// cmd.Wait from returning.
type cliProc struct {
	cmd            *exec.Cmd
	stdout, stderr *os.File
	ctx            context.Context
	cancel         context.CancelFunc
	waited         bool
}

// start starts berth-runtime --root <root> args; setup, when not nil, may
// change the command (stdio, extra files) before it starts. The process is
// killed, by its pid, if the test ends before wait.
func (e *cliEnv) start(t *testing.T, setup func(*exec.Cmd), args ...string) *cliProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	p := &cliProc{ctx: ctx, cancel: cancel}
	p.cmd = exec.CommandContext(ctx, e.bin, append([]string{"--root", e.root}, args...)...)
	dir := t.TempDir()
	var err error
	if p.stdout, err = os.Create(filepath.Join(dir, "stdout")); err != nil {
		t.Fatal(err)
	}
	if p.stderr, err = os.Create(filepath.Join(dir, "stderr")); err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if setup != nil {
		setup(p.cmd)
	}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %v: %v", args, err)
	}
	t.Cleanup(func() {
		if !p.waited {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		cancel()
		p.stdout.Close()
		p.stderr.Close()
	})
	return p
}

// output is what the process has written to stdout so far.
func (p *cliProc) output() string {
	data, _ := os.ReadFile(p.stdout.Name())
	return string(data)
}

func (p *cliProc) wait(t *testing.T) cliResult {
	t.Helper()
	err := p.cmd.Wait()
	p.waited = true
	timedOut := p.ctx.Err() != nil
	p.cancel()
	stderr, _ := os.ReadFile(p.stderr.Name())
	r := cliResult{stdout: p.output(), stderr: string(stderr)}
	if timedOut {
		t.Fatalf("berth-runtime %v: killed after %v\n%s", p.cmd.Args[1:], cliTimeout, r)
	}
	code, err := exitCode(err)
	if err != nil {
		t.Fatalf("berth-runtime %v: %v", p.cmd.Args[1:], err)
	}
	r.exit = code
	return r
}

// run runs berth-runtime with args to completion.
func (e *cliEnv) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	return e.start(t, nil, args...).wait(t)
}

// ok runs berth-runtime with args, requires exit 0 and returns stdout.
func (e *cliEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := e.run(t, args...)
	if r.exit != 0 {
		t.Fatalf("berth-runtime %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// fails runs berth-runtime with args and requires a non-zero exit with a
// message on stderr.
func (e *cliEnv) fails(t *testing.T, args ...string) cliResult {
	t.Helper()
	r := e.run(t, args...)
	if r.exit == 0 {
		t.Errorf("berth-runtime %s succeeded, want an error\n%s", strings.Join(args, " "), r)
	} else if strings.TrimSpace(r.stderr) == "" {
		t.Errorf("berth-runtime %s exited %d with nothing on stderr", strings.Join(args, " "), r.exit)
	}
	return r
}

type cliState struct {
	ID      string    `json:"id"`
	Pid     int       `json:"pid"`
	Status  string    `json:"status"`
	Bundle  string    `json:"bundle"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

func (e *cliEnv) state(t *testing.T, id string) cliState {
	t.Helper()
	out := e.ok(t, "state", id)
	var st cliState
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("state %s: %v\n%s", id, err, out)
	}
	return st
}

// waitStatus polls `state` until the container has status want.
func (e *cliEnv) waitStatus(t *testing.T, id, want string) cliState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.state(t, id)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: status %q after 10s, want %q", id, st.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireStatus checks `state` once.
func (e *cliEnv) requireStatus(t *testing.T, id, want string) cliState {
	t.Helper()
	st := e.state(t, id)
	if st.Status != want {
		t.Fatalf("container %s: status %q, want %q", id, st.Status, want)
	}
	return st
}

// requireGone checks that id is unknown to `state` and `list`.
func (e *cliEnv) requireGone(t *testing.T, id string) {
	t.Helper()
	e.fails(t, "state", id)
	if out := e.ok(t, "list", "-q"); slices.Contains(strings.Fields(out), id) {
		t.Errorf("deleted container %s still listed:\n%s", id, out)
	}
}

// processGone tells whether pid has exited (gone, or a zombie waiting for a
// reaper that is not ours).
func processGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) S ...: comm may hold spaces and parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procCgroup returns pid's cgroup path in the v1 hierarchy of controller, as
// /proc/<pid>/cgroup lists it.
func procCgroup(t *testing.T, pid int, controller string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), controller) {
			return f[2]
		}
	}
	t.Fatalf("process %d is in no %s cgroup:\n%s", pid, controller, data)
	return ""
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// TestCLILifecycle walks one container through every verb of its life, and
// two more through kill -KILL and delete --force.
func TestCLILifecycle(t *testing.T) {
	e := newCLIEnv(t)
	c := e.container(t, sleeper, nil)
	pidFile := filepath.Join(t.TempDir(), "init.pid")
	var pid int

	must := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow() // the steps after it need what it made
		}
	}
	must("create", func(t *testing.T) {
		e.ok(t, "create", "--pid-file", pidFile, "--bundle", c.bundle, c.id)
		st := e.requireStatus(t, c.id, "created")
		n, err := strconv.Atoi(readTrimmed(t, pidFile))
		if err != nil {
			t.Fatalf("pid file: %v", err)
		}
		if n != st.Pid || n <= 0 {
			t.Fatalf("pid file holds %d, state says %d", n, st.Pid)
		}
		if st.ID != c.id || st.Bundle != c.bundle {
			t.Errorf("state id %q bundle %q, want %q %q", st.ID, st.Bundle, c.id, c.bundle)
		}
		pid = n
	})
	must("start", func(t *testing.T) {
		e.ok(t, "start", c.id)
		if st := e.waitStatus(t, c.id, "running"); st.Pid != pid {
			t.Errorf("pid changed from %d to %d on start", pid, st.Pid)
		}
		e.fails(t, "start", c.id) // a running container cannot start again
	})

	t.Run("list", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(e.ok(t, "list")), "\n")
		if want := []string{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}; !slices.Equal(strings.Fields(lines[0]), want) {
			t.Errorf("list header %q, want %q", lines[0], want)
		}
		if len(lines) != 2 {
			t.Fatalf("list: want a header and one row, got\n%s", strings.Join(lines, "\n"))
		}
		row := strings.Fields(lines[1])
		if len(row) != 6 || row[0] != c.id || row[1] != strconv.Itoa(pid) || row[2] != "running" || row[3] != c.bundle || row[5] != "root" {
			t.Errorf("list row %q, want %s %d running %s <created> root", lines[1], c.id, pid, c.bundle)
		} else if _, err := time.Parse(time.RFC3339Nano, row[4]); err != nil {
			t.Errorf("list CREATED column: %v", err)
		}

		var states []cliState
		out := e.ok(t, "list", "--format", "json")
		if err := json.Unmarshal([]byte(out), &states); err != nil {
			t.Fatalf("list --format json: %v\n%s", err, out)
		}
		if len(states) != 1 || states[0].ID != c.id || states[0].Pid != pid || states[0].Status != "running" || states[0].Bundle != c.bundle {
			t.Errorf("list --format json = %+v, want one running %s with pid %d", states, c.id, pid)
		}
		if out := e.ok(t, "list", "-q"); out != c.id+"\n" {
			t.Errorf("list -q = %q, want %q", out, c.id+"\n")
		}
	})

	t.Run("ps", func(t *testing.T) {
		var pids []int
		out := e.ok(t, "ps", "--format", "json", c.id)
		if err := json.Unmarshal([]byte(out), &pids); err != nil {
			t.Fatalf("ps --format json: %v\n%s", err, out)
		}
		if !slices.Contains(pids, pid) || len(pids) != 2 {
			t.Errorf("ps --format json = %v, want the init %d and its sleep", pids, pid)
		}
		lines := strings.Split(strings.TrimSpace(e.ok(t, "ps", c.id)), "\n")
		col := slices.Index(strings.Fields(lines[0]), "PID")
		if col < 0 {
			t.Fatalf("ps table header %q has no PID column", lines[0])
		}
		var rows []int
		for _, l := range lines[1:] {
			n, err := strconv.Atoi(strings.Fields(l)[col])
			if err != nil {
				t.Fatalf("ps table row %q: %v", l, err)
			}
			rows = append(rows, n)
		}
		slices.Sort(rows)
		slices.Sort(pids)
		if !slices.Equal(rows, pids) {
			t.Errorf("ps table lists pids %v, want the container's %v:\n%s", rows, pids, strings.Join(lines, "\n"))
		}
		if out := e.ok(t, "ps", c.id, "-e", "-o", "pid,comm"); !strings.Contains(out, "sleep") || strings.Contains(out, "berth-runtime") {
			t.Errorf("ps %s -e -o pid,comm: want the container's sleep and no host process:\n%s", c.id, out)
		}
	})

	t.Run("exec", func(t *testing.T) {
		out := strings.TrimSpace(e.ok(t, "exec", c.id, "sh", "-c", "echo $$"))
		if n, err := strconv.Atoi(out); err != nil || n <= 1 {
			t.Errorf("exec sh -c 'echo $$' printed %q, want a pid > 1 in the container's pid namespace", out)
		}
		if r := e.run(t, "exec", c.id, "sh", "-c", "echo before; exit 7"); r.exit != 7 || r.stdout != "before\n" {
			t.Errorf("exec sh -c 'exit 7': want exit 7 and stdout \"before\\n\"; got %s", r)
		}
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"env", []string{"-e", "FOO=bar", "-e", "EMPTY=", c.id, "sh", "-c", `echo "$FOO|${EMPTY-unset}|$PATH"`}, "bar||/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			{"cwd", []string{"--cwd", "/tmp", c.id, "pwd"}, "/tmp"},
			{"user", []string{"-u", "1000:1000", c.id, "sh", "-c", "id -u; id -g"}, "1000\n1000"},
			{"user-uid-only", []string{"-u", "1", c.id, "id", "-u"}, "1"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if out := strings.TrimSpace(e.ok(t, append([]string{"exec"}, tc.args...)...)); out != tc.want {
					t.Errorf("exec %v printed %q, want %q", tc.args, out, tc.want)
				}
			})
		}
		e.fails(t, "exec", c.id, "/no/such/binary")
		e.fails(t, "exec", "no-such-container", "true")
	})

	t.Run("pause-resume", func(t *testing.T) {
		e.ok(t, "pause", c.id)
		e.requireStatus(t, c.id, "paused")
		if st := readTrimmed(t, filepath.Join("/sys/fs/cgroup/freezer", procCgroup(t, pid, "freezer"), "freezer.state")); st != "FROZEN" {
			t.Errorf("freezer.state = %q while paused, want FROZEN", st)
		}
		e.fails(t, "exec", c.id, "true")
		e.ok(t, "resume", c.id)
		e.requireStatus(t, c.id, "running")
		if out := e.ok(t, "exec", c.id, "echo", "awake"); out != "awake\n" {
			t.Errorf("exec after resume printed %q", out)
		}
	})

	t.Run("update", func(t *testing.T) {
		e.ok(t, "update", "--memory", "64m", "--pids-limit", "50", c.id)
		mem := procCgroup(t, pid, "memory")
		if !strings.HasSuffix(mem, c.cgroup) {
			t.Errorf("init's memory cgroup is %s, want %s from config.json", mem, c.cgroup)
		}
		if v := readTrimmed(t, filepath.Join("/sys/fs/cgroup/memory", mem, "memory.limit_in_bytes")); v != strconv.Itoa(64<<20) {
			t.Errorf("memory.limit_in_bytes = %s after update --memory 64m, want %d", v, 64<<20)
		}
		if v := readTrimmed(t, filepath.Join("/sys/fs/cgroup/pids", procCgroup(t, pid, "pids"), "pids.max")); v != "50" {
			t.Errorf("pids.max = %s after update --pids-limit 50, want 50", v)
		}
		if r := e.run(t, "update", "--memory", "lots", c.id); r.exit == 0 {
			t.Errorf("update --memory lots succeeded")
		}
	})

	t.Run("events-stats", func(t *testing.T) {
		out := e.ok(t, "events", "--stats", c.id)
		dec := json.NewDecoder(strings.NewReader(out))
		var ev struct {
			Type string `json:"type"`
			ID   string `json:"id"`
			Data *struct {
				Memory struct {
					Usage struct {
						Usage uint64 `json:"usage"`
						Limit uint64 `json:"limit"`
					} `json:"usage"`
				} `json:"memory"`
				Pids struct {
					Current uint64 `json:"current"`
				} `json:"pids"`
			} `json:"data"`
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("events --stats: %v\n%s", err, out)
		}
		if dec.More() {
			t.Errorf("events --stats printed more than one object:\n%s", out)
		}
		switch {
		case ev.Type != "stats" || ev.ID != c.id || ev.Data == nil:
			t.Errorf("events --stats = %s, want {\"type\":\"stats\",\"id\":%q,\"data\":{...}}", out, c.id)
		case ev.Data.Memory.Usage.Usage == 0:
			t.Errorf("events --stats: memory usage is 0:\n%s", out)
		case ev.Data.Memory.Usage.Limit != 64<<20:
			t.Errorf("events --stats: memory limit %d, want the updated %d", ev.Data.Memory.Usage.Limit, 64<<20)
		case ev.Data.Pids.Current != 2:
			t.Errorf("events --stats: pids.current %d, want 2 (sh and sleep)", ev.Data.Pids.Current)
		}
	})

	t.Run("delete-running-refused", func(t *testing.T) {
		e.fails(t, "delete", c.id)
		e.requireStatus(t, c.id, "running")
		if processGone(pid) {
			t.Errorf("init %d died after a refused delete", pid)
		}
	})

	must("kill-TERM", func(t *testing.T) {
		e.ok(t, "kill", c.id, "TERM")
		e.waitStatus(t, c.id, "stopped")
		waitProcessGone(t, pid)
		e.fails(t, "kill", c.id, "TERM")
		e.fails(t, "kill", c.id, "KILL")
	})

	t.Run("delete-stopped", func(t *testing.T) {
		e.ok(t, "delete", c.id)
		e.requireGone(t, c.id)
		if dirs := cgroupDirs(c.cgroup); len(dirs) > 0 {
			t.Errorf("delete left the container's cgroups: %v", dirs)
		}
		e.fails(t, "delete", c.id)
		e.ok(t, "delete", "--force", c.id) // --force: an unknown id is no error
	})

	t.Run("kill-KILL", func(t *testing.T) {
		k := e.container(t, sleeper, nil)
		e.ok(t, "create", "--bundle", k.bundle, k.id)
		e.ok(t, "start", k.id)
		st := e.waitStatus(t, k.id, "running")
		e.ok(t, "kill", k.id, "KILL")
		e.waitStatus(t, k.id, "stopped")
		waitProcessGone(t, st.Pid)
		e.fails(t, "kill", k.id)
		e.ok(t, "delete", k.id)
		e.requireGone(t, k.id)
	})

	t.Run("delete-force-running", func(t *testing.T) {
		f := e.container(t, sleeper, nil)
		e.ok(t, "create", "--bundle", f.bundle, f.id)
		e.ok(t, "start", f.id)
		st := e.waitStatus(t, f.id, "running")
		e.ok(t, "delete", "--force", f.id)
		e.requireGone(t, f.id)
		waitProcessGone(t, st.Pid)
		if dirs := cgroupDirs(f.cgroup); len(dirs) > 0 {
			t.Errorf("delete --force left the container's cgroups: %v", dirs)
		}
	})

	t.Run("delete-force-created", func(t *testing.T) {
		f := e.container(t, sleeper, nil)
		e.ok(t, "create", "--bundle", f.bundle, f.id)
		st := e.requireStatus(t, f.id, "created")
		e.ok(t, "delete", "--force", f.id)
		e.requireGone(t, f.id)
		waitProcessGone(t, st.Pid)
	})
}

// TestCLIRun covers `run`: exit codes, stdio, --detach, --keep,
// --preserve-fds, --no-pivot and bundles it must refuse.
func TestCLIRun(t *testing.T) {
	e := newCLIEnv(t)

	t.Run("exit-code-and-stdout", func(t *testing.T) {
		c := e.container(t, []string{"sh", "-c", `echo out; echo err >&2; printf 'a\tb'; exit 3`}, nil)
		r := e.run(t, "run", "--bundle", c.bundle, c.id)
		if r.exit != 3 || r.stdout != "out\na\tb" || !strings.Contains(r.stderr, "err") {
			t.Errorf("want exit 3, stdout \"out\\na\\tb\" and err on stderr; got %s", r)
		}
		e.requireGone(t, c.id) // run deletes what it ran
	})

	t.Run("exit-code-signal", func(t *testing.T) {
		// Without a pid namespace of its own the init is not a pid 1, which
		// would ignore a signal it has no handler for.
		d := e.container(t, []string{"sh", "-c", "kill -KILL $$"}, func(s *specs.Spec) { dropNamespace(s, specs.PIDNamespace) })
		if r := e.run(t, "run", "--bundle", d.bundle, d.id); r.exit != 128+9 {
			t.Errorf("init killed by SIGKILL: want exit 137, got %s", r)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		c := e.container(t, []string{"sh", "-c", "read x; echo got:$x"}, nil)
		p := e.start(t, func(cmd *exec.Cmd) { cmd.Stdin = strings.NewReader("hello\n") }, "run", "--bundle", c.bundle, c.id)
		if r := p.wait(t); r.exit != 0 || r.stdout != "got:hello\n" {
			t.Errorf("want got:hello; got %s", r)
		}
	})

	t.Run("prespawned-init", func(t *testing.T) {
		// Once a container has run from the root, run starts the next
		// one's init before its Go runtime (nsexec's prespawn.c) and
		// adopts it; the trace says which path it took.
		for i := 0; i < 2; i++ {
			c := e.container(t, []string{"sh", "-c", "echo hi"}, nil)
			p := e.start(t, func(cmd *exec.Cmd) { cmd.Env = append(os.Environ(), "BERTH_RUNTIME_TRACE=1") }, "run", "--bundle", c.bundle, c.id)
			r := p.wait(t)
			if r.exit != 0 || r.stdout != "hi\n" {
				t.Fatalf("run %d: want hi; got %s", i, r)
			}
			if i == 1 && !strings.Contains(r.stderr, "init prespawned") {
				t.Errorf("second run did not adopt a prespawned init:\n%s", r.stderr)
			}
			e.requireGone(t, c.id)
		}
	})

	t.Run("signal-mask", func(t *testing.T) {
		// run blocks most signals before its Go runtime starts (and reads
		// them from a signalfd): neither the container nor a hook may
		// inherit that mask.
		hookOut := filepath.Join(t.TempDir(), "hook")
		c := e.container(t, []string{"sh", "-c", "grep SigBlk /proc/self/status"}, func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "grep SigBlk /proc/self/status > " + hookOut}}}}
		})
		r := e.run(t, "run", "--bundle", c.bundle, c.id)
		if r.exit != 0 || !strings.Contains(r.stdout, "SigBlk:\t0000000000000000") {
			t.Errorf("container's blocked signals: want none; got %s", r)
		}
		data, err := os.ReadFile(hookOut)
		if err != nil || !strings.Contains(string(data), "SigBlk:\t0000000000000000") {
			t.Errorf("poststart hook's blocked signals: want none; got %q %v", data, err)
		}
	})

	t.Run("detach", func(t *testing.T) {
		c := e.container(t, sleeper, nil)
		start := time.Now()
		e.ok(t, "run", "--detach", "--bundle", c.bundle, c.id)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("run --detach took %v", d)
		}
		st := e.requireStatus(t, c.id, "running")
		if processGone(st.Pid) {
			t.Fatalf("init %d of a detached run is not running", st.Pid)
		}
		e.ok(t, "delete", "--force", c.id)
		e.requireGone(t, c.id)
		waitProcessGone(t, st.Pid)
	})

	t.Run("detach-refuses-terminal", func(t *testing.T) {
		c := e.container(t, []string{"true"}, func(s *specs.Spec) { s.Process.Terminal = true })
		e.fails(t, "run", "--detach", "--bundle", c.bundle, c.id)
		e.requireGone(t, c.id)
	})

	t.Run("keep", func(t *testing.T) {
		c := e.container(t, []string{"sh", "-c", "echo kept; exit 2"}, nil)
		if r := e.run(t, "run", "--keep", "--bundle", c.bundle, c.id); r.exit != 2 || r.stdout != "kept\n" {
			t.Errorf("run --keep: want exit 2 and kept; got %s", r)
		}
		e.requireStatus(t, c.id, "stopped")
		e.ok(t, "delete", c.id)
		e.requireGone(t, c.id)
		if dirs := cgroupDirs(c.cgroup); len(dirs) > 0 {
			t.Errorf("delete after run --keep left the container's cgroups: %v", dirs)
		}
	})

	t.Run("preserve-fds", func(t *testing.T) {
		secret := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(secret, []byte("preserved\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// ExtraFiles[0] is fd 3 in berth-runtime.
		withFd3 := func(cmd *exec.Cmd) {
			f, err := os.Open(secret)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			cmd.ExtraFiles = []*os.File{f}
		}
		script := `cat <&3 2>/dev/null || echo no-fd-3; ls /proc/self/fd | tr '\n' ' '`

		c := e.container(t, []string{"sh", "-c", script}, nil)
		r := e.start(t, withFd3, "run", "--preserve-fds", "1", "--bundle", c.bundle, c.id).wait(t)
		if r.exit != 0 || !strings.HasPrefix(r.stdout, "preserved\n") || !slices.Contains(strings.Fields(r.stdout), "3") {
			t.Errorf("run --preserve-fds 1: want the file's content from fd 3 and fd 3 listed; got %s", r)
		}

		d := e.container(t, []string{"sh", "-c", script}, nil)
		r = e.start(t, withFd3, "run", "--bundle", d.bundle, d.id).wait(t)
		if r.exit != 0 || !strings.HasPrefix(r.stdout, "no-fd-3\n") {
			t.Errorf("run without --preserve-fds: fd 3 must not reach the container; got %s", r)
		}
	})

	t.Run("no-pivot", func(t *testing.T) {
		c := e.container(t, []string{"sh", "-c", `[ -e /work ] || [ -e /usr/lib/os-release ] && echo host-visible; ls /etc; echo ok`}, nil)
		r := e.run(t, "run", "--no-pivot", "--bundle", c.bundle, c.id)
		if r.exit != 0 || strings.Contains(r.stdout, "host-visible") || !strings.Contains(r.stdout, "passwd") || !strings.HasSuffix(r.stdout, "ok\n") {
			t.Errorf("run --no-pivot: want the bundle's rootfs as / and exit 0; got %s", r)
		}
	})

	t.Run("bad-bundle", func(t *testing.T) {
		empty := t.TempDir()
		invalid := t.TempDir()
		if err := os.WriteFile(filepath.Join(invalid, "config.json"), []byte(`{"ociVersion": "1.2.0", "process": `), 0o644); err != nil {
			t.Fatal(err)
		}
		noRootfs := e.container(t, []string{"true"}, func(s *specs.Spec) { s.Root.Path = "no-such-rootfs" })
		noArgs := e.container(t, []string{"true"}, func(s *specs.Spec) { s.Process.Args = nil })
		for _, tc := range []struct {
			name, bundle string
			want         string // in stderr
			cgroup       string // that must not be left behind; "" when none is named
		}{
			{"missing-bundle-dir", filepath.Join(empty, "no-such-bundle"), "config.json", ""},
			{"no-config-json", empty, "config.json", ""},
			{"invalid-config-json", invalid, "config.json", ""},
			{"missing-rootfs", noRootfs.bundle, "no-such-rootfs", noRootfs.cgroup},
			{"no-process-args", noArgs.bundle, "args", noArgs.cgroup},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ee := e.sub(t)
				id := "berth-cli-bad-" + tc.name
				r := ee.fails(t, "run", "--bundle", tc.bundle, id)
				if !strings.Contains(r.stderr, tc.want) {
					t.Errorf("stderr should name %q:\n%s", tc.want, r.stderr)
				}
				entries, err := os.ReadDir(ee.root)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if len(entries) > 0 {
					var names []string
					for _, en := range entries {
						names = append(names, en.Name())
					}
					t.Errorf("a failed run left %v in --root", names)
				}
				if tc.cgroup != "" {
					if dirs := cgroupDirs(tc.cgroup); len(dirs) > 0 {
						t.Errorf("a failed run left cgroups: %v", dirs)
					}
				}
				ee.requireGone(t, id)
			})
		}
	})
}

// syncBuffer collects a pty's output for the test goroutine to poll.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// copyPty copies master into a buffer until it reports EIO (no slave left)
// and returns the buffer and a channel closed when the copy ends.
func copyPty(master *os.File) (*syncBuffer, <-chan struct{}) {
	buf := &syncBuffer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(buf, master)
	}()
	return buf, done
}

// waitFor polls until poll() contains want.
func waitFor(t *testing.T, what string, poll func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(poll(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after 10s; got %q", what, want, poll())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// consoleSocket listens on a unix socket, as a containerd shim does for
// --console-socket, and delivers the first file descriptor sent to it with
// SCM_RIGHTS.
func consoleSocket(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	// sun_path holds 108 bytes: keep the path short.
	dir, err := os.MkdirTemp("", "bcs")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		os.RemoveAll(dir)
	})
	ch := make(chan *os.File, 1)
	go func() {
		defer close(ch)
		conn, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer conn.Close()
		oob := make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := conn.ReadMsgUnix(make([]byte, 4096), oob)
		if err != nil {
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			return
		}
		ch <- os.NewFile(uintptr(fds[0]), "pty-master")
	}()
	return path, ch
}

func receiveMaster(t *testing.T, ch <-chan *os.File) *os.File {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok || m == nil {
			t.Fatal("console socket: no pty master received")
		}
		t.Cleanup(func() { m.Close() })
		if _, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN); err != nil {
			t.Fatalf("received fd is not a pty master: %v", err)
		}
		return m
	case <-time.After(cliTimeout):
		t.Fatal("console socket: nothing received")
	}
	return nil
}

// TestCLITerminal covers process.terminal: run on the caller's own pty,
// create with --console-socket, and exec -t with --console-socket.
func TestCLITerminal(t *testing.T) {
	e := newCLIEnv(t)
	terminal := func(s *specs.Spec) { s.Process.Terminal = true }

	t.Run("run-on-pty", func(t *testing.T) {
		c := e.container(t, []string{"sh", "-c", "tty; stty size; read x; echo got:$x; exit 5"}, terminal)
		master, slave, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { master.Close(); slave.Close() })
		if err := pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
			t.Fatal(err)
		}
		p := e.start(t, func(cmd *exec.Cmd) {
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		}, "run", "--bundle", c.bundle, c.id)
		slave.Close()
		out, done := copyPty(master)
		waitFor(t, "container on pty", out.String, "40 120")
		if _, err := master.Write([]byte("hello\r")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "container on pty", out.String, "got:hello")
		r := p.wait(t)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("pty still open 5s after berth-runtime exited")
		}
		got := out.String()
		if !strings.Contains(got, "/dev/pts/0\r\n") || !strings.Contains(got, "40 120\r\n") {
			t.Errorf("want tty /dev/pts/0 and size 40 120 on the pty; got %q", got)
		}
		if r.exit != 5 {
			t.Errorf("exit code %d, want 5; stderr: %s", r.exit, r.stderr)
		}
		e.requireGone(t, c.id)
	})

	t.Run("create-console-socket", func(t *testing.T) {
		c := e.container(t, []string{"sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; read x; echo got:$x"}, terminal)
		sock, masters := consoleSocket(t)
		e.ok(t, "create", "--console-socket", sock, "--bundle", c.bundle, c.id)
		master := receiveMaster(t, masters)
		e.requireStatus(t, c.id, "created")
		out, _ := copyPty(master)
		e.ok(t, "start", c.id)
		waitFor(t, "console master", out.String, "all-tty")
		if _, err := master.Write([]byte("hello\r")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "console master", out.String, "got:hello")
		e.waitStatus(t, c.id, "stopped")
		if got := out.String(); !strings.HasPrefix(got, "/dev/pts/0\r\n") {
			t.Errorf("tty printed %q, want /dev/pts/0 first", got)
		}
		e.ok(t, "delete", c.id)
	})

	// What a containerd shim does for `exec -it`: exec returns at once, the
	// shim holds the master and learns the process's pid from the pid file.
	t.Run("exec-detached-tty-console-socket", func(t *testing.T) {
		c := e.container(t, sleeper, nil)
		e.ok(t, "run", "--detach", "--bundle", c.bundle, c.id)
		sock, masters := consoleSocket(t)
		pidFile := filepath.Join(t.TempDir(), "exec.pid")
		e.ok(t, "exec", "-d", "-t", "--console-socket", sock, "--pid-file", pidFile, c.id, "sh", "-c", "tty; read x; echo got:$x")
		master := receiveMaster(t, masters)
		pid, err := strconv.Atoi(readTrimmed(t, pidFile))
		if err != nil || processGone(pid) {
			t.Fatalf("exec --pid-file: %q does not name a live process (%v)", readTrimmed(t, pidFile), err)
		}
		if got, want := procCgroup(t, pid, "memory"), procCgroup(t, e.state(t, c.id).Pid, "memory"); got != want {
			t.Errorf("exec'd process is in memory cgroup %s, the init in %s", got, want)
		}
		out, _ := copyPty(master)
		waitFor(t, "exec -d console master", out.String, "/dev/pts/0\r\n")
		if _, err := master.Write([]byte("hello\r")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "exec -d console master", out.String, "got:hello")
		waitProcessGone(t, pid)
		e.requireStatus(t, c.id, "running")
		e.ok(t, "delete", "--force", c.id)
	})

	// berth-runtime honours --console-socket without -d too and passes the
	// exit code through (runc 1.1 ignores the socket then and proxies its
	// own pty).
	t.Run("exec-tty-console-socket", func(t *testing.T) {
		c := e.container(t, sleeper, nil)
		e.ok(t, "run", "--detach", "--bundle", c.bundle, c.id)
		sock, masters := consoleSocket(t)
		p := e.start(t, nil, "exec", "-t", "--console-socket", sock, c.id, "sh", "-c", "tty; read x; echo got:$x; exit 4")
		master := receiveMaster(t, masters)
		out, _ := copyPty(master)
		waitFor(t, "exec console master", out.String, "/dev/pts/")
		if _, err := master.Write([]byte("hello\r")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "exec console master", out.String, "got:hello")
		if r := p.wait(t); r.exit != 4 {
			t.Errorf("exec -t: exit %d, want 4\n%s", r.exit, r)
		}
		if got := out.String(); !strings.HasPrefix(got, "/dev/pts/0\r\n") {
			t.Errorf("exec -t: tty printed %q, want /dev/pts/0 (the container's first pty)", got)
		}
		e.requireStatus(t, c.id, "running")
		e.ok(t, "delete", "--force", c.id)
	})
}

// TestCLISignalForwarding sends signals to a foreground `run` and expects
// the container's init to receive them.
func TestCLISignalForwarding(t *testing.T) {
	e := newCLIEnv(t)
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		exit int
	}{
		{syscall.SIGTERM, "TERM", 9},
		{syscall.SIGHUP, "HUP", 10},
		{syscall.SIGUSR1, "USR1", 11},
		{syscall.Signal(40), "40", 12}, // a real-time signal: run reads it from a signalfd
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := fmt.Sprintf(`trap "echo %s; exit %d" %s; echo ready; while :; do sleep 0.1; done`,
				strings.ToLower(tc.name), tc.exit, tc.name)
			c := e.container(t, []string{"sh", "-c", script}, nil)
			p := e.start(t, nil, "run", "--bundle", c.bundle, c.id)
			waitFor(t, "run", p.output, "ready\n")
			if err := p.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			r := p.wait(t)
			if r.exit != tc.exit || !strings.Contains(r.stdout, strings.ToLower(tc.name)+"\n") {
				t.Errorf("SIG%s to berth-runtime run: want %q printed and exit %d; got %s", tc.name, strings.ToLower(tc.name), tc.exit, r)
			}
			e.requireGone(t, c.id)
		})
	}
}

package faststart_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/runtime/faststart"
	"github.com/berth-engine/berth/internal/testutil"
)

// harness drives the built berth-runtime binary (the constructor only
// exists in it) on one state root.
type harness struct {
	t    *testing.T
	bin  string
	root string
}

func newHarness(t *testing.T) *harness {
	testutil.RequiresRoot(t)
	h := &harness{t: t, bin: testutil.RuntimeBinary(t), root: t.TempDir()}
	// Runs after every container's delete: the parent cgroup in each
	// hierarchy is the test's own.
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/berth-test-faststart")
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	})
	return h
}

func (h *harness) rt(args ...string) (string, error) {
	cmd := exec.Command(h.bin, append([]string{"--root", h.root}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// create makes a created container running sleep, removed at cleanup.
func (h *harness) create(id string, edit func(*specs.Spec)) {
	h.t.Helper()
	b := testutil.NewBundle(h.t, []string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Linux.CgroupsPath = "/berth-test-faststart/" + id
		if edit != nil {
			edit(s)
		}
	})
	// The init inherits create's stdio: a file, not a pipe whose EOF
	// would wait for the container.
	log, err := os.CreateTemp(h.t.TempDir(), "create")
	if err != nil {
		h.t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(h.bin, "--root", h.root, "create", "--bundle", b.Dir, id)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(log.Name())
		h.t.Fatalf("create: %v\n%s", err, out)
	}
	h.t.Cleanup(func() {
		_, _ = h.rt("delete", "--force", id)
	})
}

func (h *harness) status(id string) string {
	h.t.Helper()
	out, err := h.rt("state", id)
	if err != nil {
		h.t.Fatalf("state: %v\n%s", err, out)
	}
	var st struct {
		Status string `json:"status"`
		Pid    int    `json:"pid"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		h.t.Fatalf("state: %v\n%s", err, out)
	}
	return st.Status
}

func (h *harness) exists(id, name string) bool {
	_, err := os.Lstat(filepath.Join(h.root, id, name))
	return err == nil
}

func TestStartReleasesInit(t *testing.T) {
	h := newHarness(t)
	h.create("fast", nil)
	if !h.exists("fast", faststart.Marker) {
		t.Fatalf("create without poststart hooks wrote no %s", faststart.Marker)
	}
	// GODEBUG=inittrace=1 makes the Go runtime print a line per package
	// init: none means the C path answered.
	cmd := exec.Command(h.bin, "--root", h.root, "start", "fast")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	if len(out) != 0 {
		t.Errorf("start went through the Go runtime (output %q)", out)
	}
	if st := h.status("fast"); st != "running" {
		t.Fatalf("status after start = %q, want running", st)
	}
	for _, f := range []string{"exec.fifo", faststart.Marker} {
		if h.exists("fast", f) {
			t.Errorf("%s still there after start", f)
		}
	}
	// A second start is the Go path's error.
	out2, err := h.rt("start", "fast")
	if err == nil || !strings.Contains(out2, "already running") {
		t.Fatalf("second start: err=%v out=%q, want an 'already running' error", err, out2)
	}
}

// TestStartFallsBack: whatever the C path does not handle reaches the Go
// command line, which does the same job (or reports the same error).
func TestStartFallsBack(t *testing.T) {
	h := newHarness(t)
	hookOut := filepath.Join(t.TempDir(), "poststart")
	cases := []struct {
		name    string
		edit    func(*specs.Spec)
		args    func(id string) []string
		prepare func(id string)
		wantErr string
		check   func(id string)
	}{
		{
			name: "poststart hook runs",
			edit: func(s *specs.Spec) {
				s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + hookOut}}}}
			},
			check: func(id string) {
				data, err := os.ReadFile(hookOut)
				if err != nil || !strings.Contains(string(data), `"status":"running"`) {
					t.Errorf("poststart hook output %q (%v), want the state with status running", data, err)
				}
			},
		},
		{
			name: "log flag",
			args: func(id string) []string {
				return []string{"--root", h.root, "--log", filepath.Join(t.TempDir(), "log"), "start", id}
			},
		},
		{
			name:    "stale marker",
			prepare: func(id string) { writeMarker(t, h, id, "1 1\n") },
		},
		{
			name:    "garbage marker",
			prepare: func(id string) { writeMarker(t, h, id, "x") },
		},
		{
			name: "init killed",
			prepare: func(id string) {
				if out, err := h.rt("kill", id, "KILL"); err != nil {
					t.Fatalf("kill: %v\n%s", err, out)
				}
				time.Sleep(100 * time.Millisecond)
			},
			wantErr: "stopped",
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "fb" + string(rune('a'+i))
			h.create(id, tc.edit)
			if tc.prepare != nil {
				tc.prepare(id)
			}
			args := []string{"--root", h.root, "start", id}
			if tc.args != nil {
				args = tc.args(id)
			}
			cmd := exec.Command(h.bin, args...)
			cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
			out, err := cmd.CombinedOutput()
			if !strings.Contains(string(out), "init runtime") {
				t.Errorf("start did not reach the Go runtime (output %q)", out)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tc.wantErr) {
					t.Fatalf("start: err=%v out=%q, want an error with %q", err, out, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("start: %v\n%s", err, out)
			}
			if st := h.status(id); st != "running" {
				t.Fatalf("status = %q, want running", st)
			}
			if h.exists(id, "exec.fifo") || h.exists(id, faststart.Marker) {
				t.Errorf("fifo or marker left after start")
			}
			if tc.check != nil {
				tc.check(id)
			}
		})
	}
}

func writeMarker(t *testing.T, h *harness, id, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.root, id, faststart.Marker), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// goRan runs berth-runtime with GODEBUG=inittrace=1 and tells whether the
// Go runtime started (it prints a line per package init).
func (h *harness) goRan(args ...string) (out string, err error, ran bool) {
	cmd := exec.Command(h.bin, append([]string{"--root", h.root}, args...)...)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	b, err := cmd.CombinedOutput()
	return string(b), err, strings.Contains(string(b), "init runtime")
}

func (h *harness) waitStopped(id string) {
	h.t.Helper()
	for i := 0; i < 500; i++ {
		if h.status(id) == "stopped" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("container %s did not stop", id)
}

func cgroupDirs(id string) []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/berth-test-faststart/" + id)
	return dirs
}

func TestDeleteRemovesStopped(t *testing.T) {
	h := newHarness(t)
	h.create("del", nil)
	if !h.exists("del", faststart.DeleteMarker) {
		t.Fatalf("create wrote no %s", faststart.DeleteMarker)
	}
	if len(cgroupDirs("del")) == 0 {
		t.Fatal("no cgroup directories to remove")
	}
	if out, err := h.rt("kill", "del", "KILL"); err != nil {
		t.Fatalf("kill: %v\n%s", err, out)
	}
	h.waitStopped("del")
	out, err, ran := h.goRan("delete", "del")
	if err != nil || ran {
		t.Fatalf("delete: err=%v, Go runtime started %v, output %q", err, ran, out)
	}
	if _, err := os.Stat(filepath.Join(h.root, "del")); !os.IsNotExist(err) {
		t.Errorf("state directory left: %v", err)
	}
	if d := cgroupDirs("del"); len(d) != 0 {
		t.Errorf("cgroups left: %v", d)
	}
	// Gone: the Go path's answer.
	if out, err := h.rt("delete", "del"); err == nil || !strings.Contains(out, "does not exist") {
		t.Errorf("second delete: err=%v out=%q", err, out)
	}
}

func TestDeleteFallsBack(t *testing.T) {
	h := newHarness(t)
	hookOut := filepath.Join(t.TempDir(), "poststop")
	// Not stopped: Go refuses, and nothing is removed.
	h.create("running", nil)
	out, err, ran := h.goRan("delete", "running")
	if err == nil || !ran || !strings.Contains(out, "not stopped") {
		t.Fatalf("delete of a created container: err=%v ran=%v out=%q", err, ran, out)
	}
	if !h.exists("running", "state.json") || len(cgroupDirs("running")) == 0 {
		t.Fatal("a refused delete removed state or cgroups")
	}
	// --force is Go's.
	if out, err, ran := h.goRan("delete", "--force", "running"); err != nil || !ran {
		t.Fatalf("delete --force: err=%v ran=%v out=%q", err, ran, out)
	}
	if len(cgroupDirs("running")) != 0 {
		t.Fatal("delete --force left cgroups")
	}
	// A poststop hook needs the spec: no marker, the Go path runs it.
	h.create("hook", func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + hookOut}}}}
	})
	if h.exists("hook", faststart.DeleteMarker) {
		t.Fatalf("%s written for a spec with poststop hooks", faststart.DeleteMarker)
	}
	if out, err := h.rt("kill", "hook", "KILL"); err != nil {
		t.Fatalf("kill: %v\n%s", err, out)
	}
	h.waitStopped("hook")
	if out, err, ran := h.goRan("delete", "hook"); err != nil || !ran {
		t.Fatalf("delete with a poststop hook: err=%v ran=%v out=%q", err, ran, out)
	}
	if data, err := os.ReadFile(hookOut); err != nil || !strings.Contains(string(data), `"id":"hook"`) {
		t.Fatalf("poststop hook output %q (%v)", data, err)
	}
	// A child cgroup (made inside the container's) is Go's to judge.
	h.create("child", nil)
	dirs := cgroupDirs("child")
	if len(dirs) == 0 {
		t.Fatal("no cgroups")
	}
	sub := filepath.Join(dirs[0], "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(sub) })
	if out, err := h.rt("kill", "child", "KILL"); err != nil {
		t.Fatalf("kill: %v\n%s", err, out)
	}
	h.waitStopped("child")
	_, _, ran = h.goRan("delete", "child")
	if !ran {
		t.Fatal("delete with a child cgroup did not reach the Go path")
	}
}

package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/logger"
	"github.com/berth-engine/berth/internal/logger/jsonfile"
	"github.com/berth-engine/berth/internal/logger/loggertest"
	"github.com/berth-engine/berth/internal/runtime/container"
	_ "github.com/berth-engine/berth/internal/runtime/nsexec" // the init's C stage
	"github.com/berth-engine/berth/internal/shim/shimapi"
	"github.com/berth-engine/berth/internal/testutil"
)

// The test binary doubles as berth-shim ("berth-shim" argument) and, inside
// the shim, as the container's init (the runtime re-executes
// /proc/self/exe init).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "init":
			container.Init()
		case "berth-shim":
			os.Exit(Main(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

var seq atomic.Int64

type env struct {
	execRoot, rtRoot, logPath, id, cgroup string
	opts                                  Options
}

// newEnv makes a bundle running args and the options to start its shim.
func newEnv(t *testing.T, args []string, logOpts map[string]string) *env {
	t.Helper()
	testutil.RequiresRoot(t)
	n := seq.Add(1)
	e := &env{
		id:     fmt.Sprintf("c%d", n),
		cgroup: fmt.Sprintf("/berth-shim-test-%d-%d", os.Getpid(), n),
	}
	b := testutil.NewBundle(t, args, func(s *specs.Spec) { s.Linux.CgroupsPath = e.cgroup })
	// Short paths: a unix socket path is at most 107 bytes.
	root, err := os.MkdirTemp("", "bshim")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	e.execRoot = filepath.Join(root, "exec")
	e.rtRoot = filepath.Join(root, "rt")
	e.logPath = filepath.Join(root, e.id+"-json.log")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e.opts = Options{
		ID: e.id, Bundle: b.Dir, ExecRoot: e.execRoot, RuntimeRoot: e.rtRoot,
		LogPath: e.logPath, LogOpts: logOpts, Command: []string{self, "berth-shim"},
	}
	return e
}

// start spawns the shim; cleanup deletes the container and ends the shim,
// by force if the test left it running.
func (e *env) start(t *testing.T) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Start(ctx, e.opts)
	if err != nil {
		t.Fatalf("shim start: %v", err)
	}
	t.Cleanup(func() { e.cleanup(t, c.ShimPid()) })
	return c
}

func (e *env) cleanup(t *testing.T, shimPid int) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if c, err := Connect(ctx, shimapi.SocketPath(e.execRoot, e.id)); err == nil {
		if _, err := c.Delete(ctx, true); err != nil {
			t.Errorf("cleanup delete: %v", err)
		}
	}
	// Whatever is left (a shim the test killed): end it by pid, then the
	// container through the runtime.
	if syscall.Kill(shimPid, 0) == nil {
		syscall.Kill(shimPid, syscall.SIGKILL)
	}
	if rt, err := container.New(container.Options{Root: e.rtRoot}); err == nil {
		if c, err := rt.Load(e.id); err == nil {
			if err := c.Delete(true); err != nil {
				t.Errorf("cleanup runtime delete: %v", err)
			}
		}
	}
	for _, sub := range []string{"memory", "pids", "freezer"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", sub, e.cgroup)); err == nil {
			t.Errorf("cgroup %s/%s left behind", sub, e.cgroup)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func readLog(t *testing.T, e *env, maxFile int) []*logger.Message {
	t.Helper()
	return loggertest.ReadAll(t, jsonfile.NewReader(e.logPath, maxFile), logger.ReadConfig{Tail: -1})
}

func TestLogsExitAndDelete(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "echo out1; echo err1 >&2; echo out2; printf 'no newline'; exit 3"}, nil)
	before := time.Now()
	c := e.start(t)
	ctx := ctxT(t)
	st, err := c.State(ctx)
	if err != nil || st.Status != shimapi.StatusCreated || st.Pid != c.Pid() || st.Pid <= 0 {
		t.Fatalf("state before start: %+v, %v", st, err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	exit, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Now()
	if exit.Code != 3 || exit.At.Before(before) || exit.At.After(time.Now()) {
		t.Fatalf("exit %+v, want code 3 at a time within the test", exit)
	}
	// Still served after the exit, until deleted.
	if st, err := c.State(ctx); err != nil || st.Status != shimapi.StatusStopped || st.Exit == nil || st.Exit.Code != 3 {
		t.Fatalf("state after exit: %+v, %v", st, err)
	}
	if again, err := c.Wait(ctx); err != nil || again.Code != 3 {
		t.Fatalf("second wait: %+v, %v", again, err)
	}
	fileExit, err := ReadExitFile(e.execRoot, e.id)
	if err != nil || fileExit.Code != 3 || !fileExit.At.Equal(exit.At) {
		t.Fatalf("exit file: %+v, %v", fileExit, err)
	}

	msgs := readLog(t, e, 1)
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%s:%s:%v", m.Source, m.Line, m.Partial))
		// Stamped when the shim read it: the pipe may drain just after the
		// reap, but always before Wait answers.
		if m.Timestamp.Before(before) || m.Timestamp.After(waited) {
			t.Errorf("message %q stamped %v, outside the container's life", m.Line, m.Timestamp)
		}
	}
	// stdout and stderr are separate pipes: order only within a stream.
	var out, errs []string
	for _, g := range got {
		if strings.HasPrefix(g, "stdout:") {
			out = append(out, g)
		} else {
			errs = append(errs, g)
		}
	}
	if strings.Join(out, "|") != "stdout:out1:false|stdout:out2:false|stdout:no newline:true" || strings.Join(errs, "|") != "stderr:err1:false" {
		t.Fatalf("log messages %v", got)
	}
	raw, _ := os.ReadFile(e.logPath)
	line := regexp.MustCompile(`^\{"log":"[^"]*","stream":"(stdout|stderr)","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"\}$`)
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if !line.MatchString(l) {
			t.Errorf("not docker's json-file line: %s", l)
		}
	}

	if _, err := c.Delete(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(shimapi.Dir(e.execRoot, e.id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("shim directory left after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.rtRoot, e.id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("runtime state left after delete: %v", err)
	}
	waitGone(t, c.ShimPid())
}

// waitGone waits for the shim process to exit (the test's Start reaps it).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("shim %d still alive", pid)
}

func TestKill(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.State(ctx); err != nil || st.Status != shimapi.StatusRunning {
		t.Fatalf("state: %+v, %v", st, err)
	}
	if _, err := c.Delete(ctx, false); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindRunning}) {
		t.Fatalf("delete of a running container: %v, want ErrKindRunning", err)
	}
	if err := c.Kill(ctx, syscall.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	exit, err := c.Wait(ctx)
	if err != nil || exit.Code != 137 {
		t.Fatalf("wait: %+v, %v; want 137", exit, err)
	}
	if err := c.Kill(ctx, syscall.SIGTERM, false); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindNotRunning}) {
		t.Fatalf("kill after exit: %v, want ErrKindNotRunning", err)
	}
}

func TestForceDelete(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	waited := make(chan *shimapi.Exit, 1)
	go func() { x, _ := c.Wait(waitCtx); waited <- x }()
	exit, err := c.Delete(ctx, true)
	if err != nil || exit == nil || exit.Code != 137 {
		t.Fatalf("force delete: %+v, %v", exit, err)
	}
	if x := <-waited; x == nil || x.Code != 137 {
		t.Fatalf("concurrent wait got %+v", x)
	}
	if _, err := os.Stat(shimapi.SocketPath(e.execRoot, e.id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left: %v", err)
	}
	waitGone(t, c.ShimPid())
}

// The "daemon" goes away and a new one reconnects: the container kept
// running and logging, and follow sees new lines.
func TestReconnectKeepsLogging(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.02; done"}, map[string]string{"max-size": "2k", "max-file": "3"})
	first := e.start(t)
	if err := first.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	pid := first.Pid()
	first = nil // the daemon forgets everything but the socket path

	time.Sleep(100 * time.Millisecond)
	c, err := Connect(ctxT(t), shimapi.SocketPath(e.execRoot, e.id))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.State(ctxT(t)); err != nil || st.Status != shimapi.StatusRunning || st.Pid != pid {
		t.Fatalf("state after reconnect: %+v, %v (init pid was %d)", st, err, pid)
	}
	// Follow from the start through several rotations (2k files, ~9 lines each).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next := -1
	err = jsonfile.NewReader(e.logPath, 3).ReadLogs(ctx, logger.ReadConfig{Tail: 1, Follow: true}, func(m *logger.Message) error {
		var n int
		if _, err := fmt.Sscanf(string(m.Line), "line %d", &n); err != nil {
			return err
		}
		if next >= 0 && n != next {
			return fmt.Errorf("got line %d, want %d", n, next)
		}
		next = n + 1
		if n >= 60 {
			cancel()
		}
		return nil
	})
	if err != nil || next < 61 {
		t.Fatalf("follow: %v (next line %d)", err, next)
	}
	if names, _ := filepath.Glob(e.logPath + "*"); len(names) != 3 {
		t.Errorf("log files %v, want 3 after rotation", names)
	}
	if _, err := c.Delete(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
}

// When the shim itself dies, the exit file still has the status.
func TestExitFileOutlivesShim(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "exit 7"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(c.ShimPid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c.ShimPid())
	if _, err := Connect(ctx, c.Socket()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect to a dead shim: %v, want ECONNREFUSED", err)
	}
	exit, err := ReadExitFile(e.execRoot, e.id)
	if err != nil || exit.Code != 7 {
		t.Fatalf("exit file: %+v, %v", exit, err)
	}
}

func TestShutdown(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Shutdown(ctx); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindRunning}) {
		t.Fatalf("shutdown with a live init: %v, want ErrKindRunning", err)
	}
	if err := c.Kill(ctx, syscall.SIGKILL, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c.ShimPid())
	if exit, err := ReadExitFile(e.execRoot, e.id); err != nil || exit.Code != 137 {
		t.Fatalf("exit file after shutdown: %+v, %v", exit, err)
	}
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	for _, tc := range []struct {
		name string
		req  shimapi.Request
		kind shimapi.ErrKind
	}{
		{"future version", shimapi.Request{Version: 99, Op: shimapi.OpState}, shimapi.ErrKindVersion},
		{"unknown op", shimapi.Request{Version: shimapi.Version, Op: "dance"}, shimapi.ErrKindInvalid},
		{"bad signal", shimapi.Request{Version: shimapi.Version, Op: shimapi.OpKill, Signal: 1000}, shimapi.ErrKindInvalid},
		{"resize", shimapi.Request{Version: shimapi.Version, Op: shimapi.OpResize, Width: 80, Height: 24}, shimapi.ErrKindNotImplemented},
		{"attach", shimapi.Request{Version: shimapi.Version, Op: shimapi.OpAttach}, shimapi.ErrKindNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("unix", c.Socket())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			json.NewEncoder(conn).Encode(tc.req)
			var resp shimapi.Response
			if err := json.NewDecoder(conn).Decode(&resp); err != nil {
				t.Fatal(err)
			}
			if resp.Kind != tc.kind || resp.Version != shimapi.Version {
				t.Fatalf("got %+v, want kind %s", resp, tc.kind)
			}
		})
	}
}

func TestStartFailure(t *testing.T) {
	e := newEnv(t, []string{"true"}, nil)
	e.opts.Bundle = filepath.Join(t.TempDir(), "missing")
	_, err := Start(ctxT(t), e.opts)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("start with a missing bundle: %v", err)
	}
}

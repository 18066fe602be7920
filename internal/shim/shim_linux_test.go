package shim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/logger"
	"github.com/berth-engine/berth/internal/logger/jsonfile"
	"github.com/berth-engine/berth/internal/logger/loggertest"
	"github.com/berth-engine/berth/internal/shim/shimapi"
	"github.com/berth-engine/berth/internal/testutil"
)

// The test binary doubles as a throw-away "daemon" (the shim-client
// argument) that starts a shim and is then killed with SIGKILL.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "shim-client" {
		var opts Options
		if err := json.Unmarshal([]byte(os.Args[2]), &opts); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := Start(ctx, opts)
		if err == nil {
			err = c.Start(ctx)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%d %d\n", c.ShimPid(), c.Pid())
		go c.Wait(context.Background()) //nolint:errcheck // killed while waiting
		time.Sleep(time.Hour)
	}
	os.Exit(m.Run())
}

var seq atomic.Int64

type env struct {
	execRoot, rtRoot, logPath, id, cgroup, runtime string
	bundle                                         *testutil.Bundle
	opts                                           Options
}

// newEnv makes a bundle running args and the options to start its shim.
func newEnv(t *testing.T, args []string, logOpts map[string]string, edit ...func(*specs.Spec)) *env {
	t.Helper()
	testutil.RequiresRoot(t)
	shimBin := testutil.ShimBinary(t)
	n := seq.Add(1)
	e := &env{
		id:      fmt.Sprintf("c%d", n),
		cgroup:  fmt.Sprintf("/berth-shim-test-%d-%d", os.Getpid(), n),
		runtime: testutil.RuntimeBinary(t),
	}
	e.bundle = testutil.NewBundle(t, args, func(s *specs.Spec) {
		s.Linux.CgroupsPath = e.cgroup
		for _, f := range edit {
			f(s)
		}
	})
	// Short paths: a unix socket path is at most 107 bytes.
	root, err := os.MkdirTemp("", "bshim")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	e.execRoot = filepath.Join(root, "exec")
	e.rtRoot = filepath.Join(root, "rt")
	e.logPath = filepath.Join(root, e.id+"-json.log")
	e.opts = Options{
		ID: e.id, Bundle: e.bundle.Dir, ExecRoot: e.execRoot, RuntimeRoot: e.rtRoot,
		LogPath: e.logPath, LogOpts: logOpts, Command: []string{shimBin}, Runtime: e.runtime,
		Terminal: e.bundle.Spec.Process.Terminal,
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
	if shimPid > 0 && syscall.Kill(shimPid, 0) == nil {
		syscall.Kill(shimPid, syscall.SIGKILL)
	}
	if _, err := os.Stat(filepath.Join(e.rtRoot, e.id)); err == nil {
		if out, err := exec.Command(e.runtime, "--root", e.rtRoot, "delete", "--force", e.id).CombinedOutput(); err != nil {
			t.Errorf("cleanup runtime delete: %v: %s", err, out)
		}
	}
	for _, sub := range []string{"memory", "pids", "freezer"} {
		p := filepath.Join("/sys/fs/cgroup", sub, e.cgroup)
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(p); err != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := os.Stat(p); err == nil {
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

// frames reads docker's multiplexed frames until EOF: the bytes of each
// stream and the order of the streams' frames.
func frames(t *testing.T, r io.Reader) (out, errs []byte) {
	t.Helper()
	br := bufio.NewReader(r)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err != io.EOF {
				t.Fatalf("reading a frame header: %v", err)
			}
			return out, errs
		}
		if hdr[1] != 0 || hdr[2] != 0 || hdr[3] != 0 {
			t.Fatalf("bad frame header %v", hdr)
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		switch hdr[0] {
		case 1:
			out = append(out, p...)
		case 2:
			errs = append(errs, p...)
		default:
			t.Fatalf("frame of stream %d", hdr[0])
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(testutil.ShimBinary(t), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "berth-shim version ") {
		t.Fatalf("--version: %q, %v", out, err)
	}
}

func TestLogsExitAndDelete(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "echo out1; echo err1 >&2; echo out2; echo '<&\"\\>'; printf 'no newline'; exit 3"}, nil)
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
	var out, errs []string
	for _, m := range msgs {
		g := fmt.Sprintf("%s:%s:%v", m.Source, m.Line, m.Partial)
		if m.Source == logger.Stdout {
			out = append(out, g)
		} else {
			errs = append(errs, g)
		}
		if m.Timestamp.Before(before) || m.Timestamp.After(waited) {
			t.Errorf("message %q stamped %v, outside the container's life", m.Line, m.Timestamp)
		}
	}
	// stdout and stderr are separate pipes: order only within a stream.
	if strings.Join(out, "|") != "stdout:out1:false|stdout:out2:false|stdout:<&\"\\>:false|stdout:no newline:true" || strings.Join(errs, "|") != "stderr:err1:false" {
		t.Fatalf("log messages %q %q", out, errs)
	}
	raw, _ := os.ReadFile(e.logPath)
	line := regexp.MustCompile(`^\{"log":"([^"\\]|\\.)*","stream":"(stdout|stderr)","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z"\}$`)
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if !line.MatchString(l) {
			t.Errorf("not docker's json-file line: %s", l)
		}
	}
	// Byte for byte what encoding/json writes (docker escapes HTML too).
	if !bytes.Contains(raw, []byte(`{"log":"\u003c\u0026\"\\\u003e\n","stream":"stdout","time":`)) {
		t.Errorf("escaping differs from encoding/json:\n%s", raw)
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

// A line longer than 16 KiB is split into partial messages as docker does,
// and the reader joins nothing: 16384 + 16384 + the rest.
func TestLongLineAndEscapes(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "head -c 40000 /dev/zero | tr '\\0' a; echo; printf '\\001\\t\\303\\251\\377\\342\\200\\250\\n'"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := readLog(t, e, 1)
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%d:%v", len(m.Line), m.Partial))
	}
	if strings.Join(got, " ") != "16384:true 16384:true 7232:false 10:false" {
		t.Fatalf("messages %v", got)
	}
	raw, _ := os.ReadFile(e.logPath)
	if !bytes.Contains(raw, []byte(`"log":"\u0001\té\ufffd\u2028\n"`)) {
		t.Errorf("control, UTF-8 and invalid bytes not escaped as encoding/json does:\n%s", raw[len(raw)-200:])
	}
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
	time.Sleep(50 * time.Millisecond)
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

// A created container that never started is deleted too.
func TestForceDeleteCreated(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	if _, err := c.Delete(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c.ShimPid())
}

// The "daemon" goes away and a new one reconnects: the container kept
// running and logging, and follow sees new lines across rotations.
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
	for _, n := range []string{e.logPath, e.logPath + ".1"} {
		if fi, err := os.Stat(n); err != nil || fi.Size() > 2048+64 {
			t.Errorf("%s: %v, size over max-size by more than one entry", n, err)
		}
	}
	if _, err := c.Delete(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
}

// The daemon that started the shim is killed with SIGKILL: the shim and
// the container live on, and a new client waits for the exit.
func TestDaemonKilled(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "sleep 1; exit 4"}, nil)
	data, _ := json.Marshal(e.opts)
	self, _ := os.Executable()
	cmd := exec.Command(self, "shim-client", string(data))
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var shimPid, initPid int
	for i := 0; i < 200 && shimPid == 0; i++ {
		time.Sleep(20 * time.Millisecond)
		fmt.Sscanf(stdout.String(), "%d %d", &shimPid, &initPid)
	}
	t.Cleanup(func() { e.cleanup(t, shimPid) })
	cmd.Process.Kill()
	cmd.Wait()
	if shimPid == 0 {
		t.Fatal("the client never reported")
	}
	c, err := Connect(ctxT(t), shimapi.SocketPath(e.execRoot, e.id))
	if err != nil {
		t.Fatal(err)
	}
	if c.Pid() != initPid || c.ShimPid() != shimPid {
		t.Fatalf("reconnected to pid %d shim %d, want %d %d", c.Pid(), c.ShimPid(), initPid, shimPid)
	}
	exit, err := c.Wait(ctxT(t))
	if err != nil || exit.Code != 4 {
		t.Fatalf("wait after the daemon died: %+v, %v", exit, err)
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
	// A shim killed while its container runs leaves no exit file.
	e2 := newEnv(t, []string{"sleep", "100"}, nil)
	c2 := e2.start(t)
	syscall.Kill(c2.ShimPid(), syscall.SIGKILL)
	waitGone(t, c2.ShimPid())
	if _, err := ReadExitFile(e2.execRoot, e2.id); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("exit file of a running container: %v", err)
	}
}

func TestShutdown(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Shutdown(ctx); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindRunning}) {
		t.Fatalf("shutdown with a live init: %v, want ErrKindRunning", err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
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

// rawCall sends raw bytes and reads one response line.
func rawCall(t *testing.T, sock string, req []byte) shimapi.Response {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		// The shim may stop reading (a line too long); the half-close
		// ends a request without a newline.
		conn.Write(req)
		conn.(*net.UnixConn).CloseWrite()
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		t.Fatalf("no response to %.60q: %v", req, err)
	}
	var resp shimapi.Response
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("response %q: %v", line, err)
	}
	return resp
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	v := func(s string) []byte { return []byte(s + "\n") }
	huge := append([]byte(`{"version":1,"op":"state","path":"`), bytes.Repeat([]byte("x"), 70<<10)...)
	for _, tc := range []struct {
		name string
		req  []byte
		kind shimapi.ErrKind
	}{
		{"future version", v(`{"version":99,"op":"state"}`), shimapi.ErrKindVersion},
		{"unknown op", v(`{"version":1,"op":"dance"}`), shimapi.ErrKindInvalid},
		{"bad signal", v(`{"version":1,"op":"kill","signal":1000}`), shimapi.ErrKindInvalid},
		{"resize without a terminal", v(`{"version":1,"op":"resize","width":80,"height":24}`), shimapi.ErrKindInvalid},
		{"unknown exec", v(`{"version":1,"op":"wait","exec_id":"nope"}`), shimapi.ErrKindNotFound},
		{"exec before start", v(`{"version":1,"op":"exec","exec_id":"e","path":"/x"}`), shimapi.ErrKindNotRunning},
		{"garbage", v(`hello there`), shimapi.ErrKindInvalid},
		{"binary", []byte("\x00\xff\xfe{\n"), shimapi.ErrKindInvalid},
		{"truncated", []byte(`{"version":1,"op":"sta`), shimapi.ErrKindInvalid},
		{"nested", v(`{"version":1,"op":"state","x":{"a":1}}`), shimapi.ErrKindInvalid},
		{"duplicate key", v(`{"version":1,"op":"state","op":"kill"}`), shimapi.ErrKindInvalid},
		{"wrong type", v(`{"version":"1","op":"state"}`), shimapi.ErrKindInvalid},
		{"fraction", v(`{"version":1.5,"op":"state"}`), shimapi.ErrKindInvalid},
		{"width out of range", v(`{"version":1,"op":"resize","width":70000,"height":1}`), shimapi.ErrKindInvalid},
		{"trailing data", v(`{"version":1,"op":"state"} x`), shimapi.ErrKindInvalid},
		{"lone surrogate", v(`{"version":1,"op":"st\ud800ate"}`), shimapi.ErrKindInvalid},
		{"huge line", huge, shimapi.ErrKindInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawCall(t, c.Socket(), tc.req)
			if resp.Kind != tc.kind || resp.Version != shimapi.Version || resp.Error == "" {
				t.Fatalf("got %+v, want kind %s", resp, tc.kind)
			}
			// And the shim keeps serving.
			if st, err := c.State(ctxT(t)); err != nil || st.Status != shimapi.StatusCreated {
				t.Fatalf("state after %s: %+v, %v", tc.name, st, err)
			}
		})
	}
	// Unknown scalar keys are skipped (a newer client's optional field).
	if resp := rawCall(t, c.Socket(), v(`{"version":1,"op":"state","future":"x","n":-3,"b":true,"z":null}`)); resp.Error != "" || resp.State == nil {
		t.Fatalf("unknown keys: %+v", resp)
	}
	// A client that connects and says nothing, or hangs up at once.
	idle, err := net.Dial("unix", c.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	hup, _ := net.Dial("unix", c.Socket())
	hup.Close()
	if _, err := c.State(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestStartFailure(t *testing.T) {
	e := newEnv(t, []string{"true"}, nil)
	e.opts.Bundle = filepath.Join(t.TempDir(), "missing")
	_, err := Start(ctxT(t), e.opts)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("start with a missing bundle: %v", err)
	}
	e = newEnv(t, []string{"true"}, map[string]string{"max-file": "3"})
	if _, err := Start(ctxT(t), e.opts); err == nil || !strings.Contains(err.Error(), "max-size") {
		t.Fatalf("max-file without max-size: %v", err)
	}
}

// All output arrives on the attach stream, in order per stream, before EOF.
func TestAttachOrdering(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	s, err := c.Attach(ctx, AttachOpts{Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	only, err := c.Attach(ctx, AttachOpts{Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	out, errs := frames(t, s)
	check := func(name string, b []byte) {
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 2000 {
			t.Fatalf("%s: %d lines", name, len(lines))
		}
		for i, l := range lines {
			if l != fmt.Sprintf("%s %d", name, i) {
				t.Fatalf("%s line %d is %q", name, i, l)
			}
		}
	}
	check("out", out)
	check("err", errs)
	out2, errs2 := frames(t, only)
	if len(out2) != 0 || !bytes.Equal(errs2, errs) {
		t.Fatalf("stderr-only attach got %d stdout bytes, stderr equal: %v", len(out2), bytes.Equal(errs2, errs))
	}
	if exit, err := c.Wait(ctx); err != nil || exit.Code != 0 {
		t.Fatalf("wait: %+v %v", exit, err)
	}
	// Attaching after the end answers and closes at once.
	late, err := c.Attach(ctx, AttachOpts{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, late); n != 0 || err != nil {
		t.Fatalf("late attach: %d bytes, %v", n, err)
	}
	late.Close()
}

func TestAttachStdinCloseStdin(t *testing.T) {
	e := newEnv(t, []string{"cat"}, nil)
	e.opts.Stdin = true
	c := e.start(t)
	ctx := ctxT(t)
	s, err := c.Attach(ctx, AttachOpts{Stdin: true, Stdout: true, Stderr: true, CloseStdin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("hello\nworld\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	out, _ := frames(t, s)
	if string(out) != "hello\nworld\n" {
		t.Fatalf("cat echoed %q", out)
	}
	if exit, err := c.Wait(ctx); err != nil || exit.Code != 0 {
		t.Fatalf("cat did not end on stdin's close: %+v %v", exit, err)
	}
	msgs := readLog(t, e, 1)
	if len(msgs) != 2 || string(msgs[1].Line) != "world" {
		t.Fatalf("log %v", msgs)
	}
}

// A stdin client that writes and hangs up without a half-close: its bytes
// still reach the process, and with close_stdin its end closes stdin.
func TestAttachStdinClientHangsUp(t *testing.T) {
	e := newEnv(t, []string{"cat"}, nil)
	e.opts.Stdin = true
	c := e.start(t)
	ctx := ctxT(t)
	out, err := c.Attach(ctx, AttachOpts{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	in, err := c.Attach(ctx, AttachOpts{Stdin: true, CloseStdin: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("bye\n"))
	in.Close()
	if got, _ := frames(t, out); string(got) != "bye\n" {
		t.Fatalf("cat echoed %q", got)
	}
	if exit, err := c.Wait(ctx); err != nil || exit.Code != 0 {
		t.Fatalf("wait: %+v %v", exit, err)
	}
}

func TestTerminal(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "tty; read x; stty size; echo bye >&2"}, nil, func(s *specs.Spec) {
		s.Process.Terminal = true
	})
	e.opts.Stdin = true
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Resize(ctx, "", 0, 0); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindInvalid}) {
		t.Fatalf("resize 0x0: %v, want ErrKindInvalid", err)
	}
	s, err := c.Attach(ctx, AttachOpts{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Read frames until the tty line, then resize and let it go on.
	br := bufio.NewReader(s)
	var got []byte
	var hdr [8]byte
	readFrame := func() bool {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return false
		}
		if hdr[0] != 1 {
			t.Fatalf("stream %d with a terminal", hdr[0])
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		io.ReadFull(br, p)
		got = append(got, p...)
		return true
	}
	for !bytes.Contains(got, []byte("/dev/pts/0")) {
		if !readFrame() {
			t.Fatalf("no tty line, got %q", got)
		}
	}
	if err := c.Resize(ctx, "", 100, 40); err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("\n"))
	for readFrame() {
	}
	if !bytes.Contains(got, []byte("40 100")) || !bytes.Contains(got, []byte("bye")) {
		t.Fatalf("output %q: want the new size and stderr on stream 1", got)
	}
	if exit, err := c.Wait(ctx); err != nil || exit.Code != 0 {
		t.Fatalf("wait: %+v %v", exit, err)
	}
	msgs := readLog(t, e, 1)
	if len(msgs) == 0 || !strings.HasPrefix(string(msgs[0].Line), "/dev/pts/0") {
		t.Fatalf("log of a terminal container: %v", msgs)
	}
}

func execProc(args ...string) *specs.Process {
	return &specs.Process{Args: args, Cwd: "/", Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}}
}

func TestExec(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid, s, err := c.Exec(ctx, "e1", execProc("sh", "-c", "echo hi; echo there >&2; exit 5"), ExecOpts{Attach: &AttachOpts{Stdout: true, Stderr: true}})
	if err != nil {
		t.Fatal(err)
	}
	if pid <= 0 || s == nil {
		t.Fatalf("exec pid %d stream %v", pid, s)
	}
	out, errs := frames(t, s)
	s.Close()
	if string(out) != "hi\n" || string(errs) != "there\n" {
		t.Fatalf("exec output %q %q", out, errs)
	}
	exit, err := c.WaitExec(ctx, "e1")
	if err != nil || exit.Code != 5 {
		t.Fatalf("exec wait: %+v %v", exit, err)
	}
	if st, err := c.StateExec(ctx, "e1"); err != nil || st.Status != shimapi.StatusStopped || st.Pid != pid || st.ID != "e1" {
		t.Fatalf("exec state: %+v %v", st, err)
	}
	if err := c.KillExec(ctx, "e1", syscall.SIGKILL); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindNotRunning}) {
		t.Fatalf("kill of an exited exec: %v", err)
	}
	if _, _, err := c.Exec(ctx, "e1", execProc("true"), ExecOpts{}); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindInvalid}) {
		t.Fatalf("reused exec id: %v", err)
	}
	for _, bad := range []string{"", "..", "../x", "a/b", strings.Repeat("x", 65)} {
		if _, _, err := c.Exec(ctx, bad, execProc("true"), ExecOpts{}); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindInvalid}) {
			t.Fatalf("exec id %q: %v", bad, err)
		}
	}
	if resp := rawCall(t, c.Socket(), []byte(`{"version":1,"op":"exec","exec_id":"../x","path":"/etc/passwd"}`+"\n")); resp.Kind != shimapi.ErrKindInvalid {
		t.Fatalf("shim took exec id ../x: %+v", resp)
	}
	// A failing exec is an error, with the runtime's reason.
	if _, _, err := c.Exec(ctx, "e2", execProc("/no/such/binary"), ExecOpts{}); err == nil {
		t.Fatal("exec of a missing binary succeeded")
	} else if _, err := c.StateExec(ctx, "e2"); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindNotFound}) {
		// Either the runtime refuses (no record) or the process exits 127.
		if ex, werr := c.WaitExec(ctx, "e2"); werr != nil || ex.Code == 0 {
			t.Fatalf("failed exec: %v / %+v %v", err, ex, werr)
		}
	}
	// stdin, a long-running exec killed, and a terminal exec.
	_, s, err = c.Exec(ctx, "cat", execProc("cat"), ExecOpts{Stdin: true, Attach: &AttachOpts{Stdin: true, Stdout: true, CloseStdin: true}})
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("ping\n"))
	s.CloseWrite()
	if out, _ := frames(t, s); string(out) != "ping\n" {
		t.Fatalf("exec cat: %q", out)
	}
	s.Close()
	if ex, err := c.WaitExec(ctx, "cat"); err != nil || ex.Code != 0 {
		t.Fatalf("exec cat exit: %+v %v", ex, err)
	}
	if _, _, err := c.Exec(ctx, "sl", execProc("sleep", "100"), ExecOpts{}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.StateExec(ctx, "sl"); err != nil || st.Status != shimapi.StatusRunning {
		t.Fatalf("running exec state: %+v %v", st, err)
	}
	if err := c.KillExec(ctx, "sl", syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if ex, err := c.WaitExec(ctx, "sl"); err != nil || ex.Code != 128+int(syscall.SIGTERM) {
		t.Fatalf("killed exec: %+v %v", ex, err)
	}
	_, s, err = c.Exec(ctx, "tty", execProc("sh", "-c", "tty; stty size"), ExecOpts{Terminal: true, Attach: &AttachOpts{Stdout: true}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ = frames(t, s)
	s.Close()
	if !bytes.Contains(out, []byte("/dev/pts/")) {
		t.Fatalf("terminal exec: %q", out)
	}
	if err := c.Resize(ctx, "tty", 10, 10); err == nil {
		t.Fatal("resize of an exited exec succeeded")
	}
	// A terminal exec with stdin, resized while it waits for a line.
	_, s, err = c.Exec(ctx, "tty2", execProc("sh", "-c", "echo ready; read x; stty size"), ExecOpts{Terminal: true, Stdin: true, Attach: &AttachOpts{Stdin: true, Stdout: true}})
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(s)
	var hdr [8]byte
	var got []byte
	for !bytes.Contains(got, []byte("ready")) {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatalf("terminal exec: %v after %q", err, got)
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		io.ReadFull(br, p)
		got = append(got, p...)
	}
	if err := c.Resize(ctx, "tty2", 50, 20); err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("\n"))
	rest, _ := frames(t, br)
	s.Close()
	if !bytes.Contains(rest, []byte("20 50")) {
		t.Fatalf("stty size in the resized exec: %q", rest)
	}
	// Exec output is not logged.
	if msgs := readLog(t, e, 1); len(msgs) != 0 {
		t.Fatalf("exec output in the container's log: %v", msgs)
	}
}

func freezerState(e *env) string {
	b, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup/freezer", e.cgroup, "freezer.state"))
	return strings.TrimSpace(string(b))
}

func TestPauseResume(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Pause(ctx); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindNotRunning}) {
		t.Fatalf("pause before start: %v", err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.State(ctx); err != nil || st.Status != shimapi.StatusPaused {
		t.Fatalf("state: %+v %v", st, err)
	}
	if fs := freezerState(e); fs != "FROZEN" {
		t.Fatalf("freezer.state %q", fs)
	}
	if _, _, err := c.Exec(ctx, "p", execProc("true"), ExecOpts{}); !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindPaused}) {
		t.Fatalf("exec into a paused container: %v, want ErrKindPaused", err)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if fs := freezerState(e); fs != "THAWED" {
		t.Fatalf("freezer.state %q", fs)
	}
	if st, err := c.State(ctx); err != nil || st.Status != shimapi.StatusRunning {
		t.Fatalf("state: %+v %v", st, err)
	}
	// A paused container is force-deleted too (thawed first).
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, true); err != nil {
		t.Fatal(err)
	}
}

func TestUpdate(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil, func(s *specs.Spec) {
		lim := int64(100)
		s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &lim}}
	})
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mem, pids := int64(64<<20), int64(42)
	if err := c.Update(ctx, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &pids}, Memory: &specs.LinuxMemory{Limit: &mem}}); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", p))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if v := read("pids" + e.cgroup + "/pids.max"); v != "42" {
		t.Errorf("pids.max %s", v)
	}
	if v := read("memory" + e.cgroup + "/memory.limit_in_bytes"); v != strconv.FormatInt(mem, 10) {
		t.Errorf("memory.limit_in_bytes %s", v)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(shimapi.Dir(e.execRoot, e.id), "update-*")); len(leftovers) != 0 {
		t.Errorf("update files left: %v", leftovers)
	}
}

func fdCount(t *testing.T, pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// Clients that vanish mid-stream, or stop reading, leave nothing behind and
// never hold up the log.
func TestAttachDisconnectAndSlowClient(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "i=0; while [ $i -lt 30000 ]; do echo 'a line of output that is long enough to add up' $i; i=$((i+1)); done; sleep 1"}, nil)
	c := e.start(t)
	ctx := ctxT(t)
	base := fdCount(t, c.ShimPid())
	slow, err := c.Attach(ctx, AttachOpts{Stdout: true}) // never read
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	var gone []*Stream
	for i := 0; i < 5; i++ {
		s, err := c.Attach(ctx, AttachOpts{Stdout: true, Stderr: true, Stdin: true})
		if err != nil {
			t.Fatal(err)
		}
		gone = append(gone, s)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range gone {
		s.Read(make([]byte, 100))
		s.Close()
	}
	if exit, err := c.Wait(ctx); err != nil || exit.Code != 0 {
		t.Fatalf("wait: %+v %v", exit, err)
	}
	if msgs := readLog(t, e, 1); len(msgs) != 30000 {
		t.Fatalf("log has %d lines, want 30000", len(msgs))
	}
	// The slow client was dropped (it fell more than 1 MiB behind) or
	// closed at the end; either way the shim holds no fd for it.
	if n := fdCount(t, c.ShimPid()); n > base {
		t.Fatalf("shim has %d fds, had %d before the attaches", n, base)
	}
}

// TestShimMemory reports the memory of idle shims; the comparison with
// containerd-shim belongs to the bench.
func TestShimMemory(t *testing.T) {
	var pids []int
	for i := 0; i < 10; i++ {
		e := newEnv(t, []string{"sleep", "100"}, nil)
		c := e.start(t)
		if err := c.Start(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, c.ShimPid())
	}
	time.Sleep(200 * time.Millisecond)
	var rss, pss, anon, dirty int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			n, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "Rss:":
				rss += n
			case "Pss:":
				pss += n
			case "Anonymous:":
				anon += n
			case "Private_Dirty:":
				dirty += n
			}
		}
	}
	t.Logf("10 idle shims: mean RSS %d KiB, PSS %d KiB, anonymous %d KiB, private dirty %d KiB", rss/10, pss/10, anon/10, dirty/10)
}

// Mutated requests never crash the shim: each gets an answer (or, for an
// unterminated line, the connection's end) and the shim keeps serving.
func TestProtocolMutations(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	seeds := []string{
		`{"version":1,"op":"state"}`,
		`{"version":1,"op":"kill","signal":0,"all":false}`,
		`{"version":1,"op":"resize","exec_id":"x","width":80,"height":24}`,
		`{"version":1,"op":"wait","exec_id":"\u00e9\ud83d\ude00"}`,
		`{"version":1,"op":"attach","stdin":true,"stdout":true,"stderr":false,"close_stdin":true,"exec_id":"nope"}`,
		`{"version":1,"op":"update","path":"/no/such/file"}`,
	}
	rnd := uint64(12345)
	next := func(n int) int {
		rnd ^= rnd << 13
		rnd ^= rnd >> 7
		rnd ^= rnd << 17
		return int(rnd % uint64(n))
	}
	alphabet := []byte("{}[]\":,\\u0123456789abcdeftrunlsx -.\x00\xff\n")
	base := fdCount(t, c.ShimPid())
	for i := 0; i < 1500; i++ {
		b := []byte(seeds[next(len(seeds))])
		for k := next(4); k >= 0; k-- {
			switch pos := next(len(b) + 1); next(3) {
			case 0: // replace
				if pos < len(b) {
					b[pos] = alphabet[next(len(alphabet))]
				}
			case 1: // insert
				b = append(b[:pos], append([]byte{alphabet[next(len(alphabet))]}, b[pos:]...)...)
			case 2: // cut
				b = b[:pos]
			}
		}
		if bytes.Contains(b, []byte(`"op":"kill"`)) || bytes.Contains(b, []byte(`"update"`)) ||
			bytes.Contains(b, []byte(`"op":"delete"`)) || bytes.Contains(b, []byte(`"shutdown"`)) ||
			bytes.Contains(b, []byte(`"op":"pause"`)) || bytes.Contains(b, []byte(`"op":"start"`)) {
			continue // valid mutations of these would change the container
		}
		conn, err := net.Dial("unix", c.Socket())
		if err != nil {
			t.Fatalf("after %d requests: %v", i, err)
		}
		conn.Write(append(b, '\n'))
		conn.(*net.UnixConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(conn).ReadBytes('\n')
		conn.Close()
		var resp shimapi.Response
		if len(line) > 0 && json.Unmarshal(line, &resp) != nil {
			t.Fatalf("request %q: answer %q is not JSON", b, line)
		}
	}
	if st, err := c.State(ctxT(t)); err != nil || st.Status != shimapi.StatusCreated {
		t.Fatalf("state after the mutations: %+v %v", st, err)
	}
	n := 0
	for i := 0; i < 100; i++ {
		if n = fdCount(t, c.ShimPid()); n <= base {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("shim holds %d fds after the mutations, %d before", n, base)
}

// With the none log driver nothing is written, and attach still streams.
func TestLogDriverNone(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "echo hello"}, nil)
	e.opts.LogDriver, e.opts.LogPath = "none", ""
	c := e.start(t)
	ctx := ctxT(t)
	s, err := c.Attach(ctx, AttachOpts{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if out, _ := frames(t, s); string(out) != "hello\n" {
		t.Fatalf("attach: %q", out)
	}
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if names, _ := filepath.Glob(filepath.Join(filepath.Dir(e.logPath), "*.log*")); len(names) != 0 {
		t.Fatalf("log files with the none driver: %v", names)
	}
}

// Cancelling the context of an attach closes its stream.
func TestAttachContextCancel(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	s, err := c.Attach(ctx, AttachOpts{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 10)); done <- err }()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read after cancel succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not end the stream")
	}
}

// Stdin sent in the same write as the attach request is not lost.
func TestAttachStdinWithRequest(t *testing.T) {
	e := newEnv(t, []string{"cat"}, nil)
	e.opts.Stdin = true
	c := e.start(t)
	conn, err := net.Dial("unix", c.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte(`{"version":1,"op":"attach","stdin":true,"stdout":true,"close_stdin":true}` + "\nearly bytes\n"))
	conn.(*net.UnixConn).CloseWrite()
	br := bufio.NewReader(conn)
	if line, err := br.ReadBytes('\n'); err != nil || !bytes.Contains(line, []byte(`"version":1`)) {
		t.Fatalf("attach answer %q %v", line, err)
	}
	if err := c.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if out, _ := frames(t, br); string(out) != "early bytes\n" {
		t.Fatalf("cat echoed %q", out)
	}
}

// The log is byte for byte what internal/logger/jsonfile writes: random
// output (control characters, HTML characters, valid and broken UTF-8, long
// lines) logged by the shim equals, line by line but for the timestamps,
// the same bytes fed through logger.Copy into the Go driver.
func TestLogMatchesGoDriver(t *testing.T) {
	var in []byte
	rnd := uint64(99)
	next := func(n int) int {
		rnd ^= rnd << 13
		rnd ^= rnd >> 7
		rnd ^= rnd << 17
		return int(rnd % uint64(n))
	}
	pieces := []string{"\n", "\r\n", "\t", "\x00", "\x01", "\x1f", "\x7f", "<", ">", "&", "\"", "\\", "é", "€", "😀",
		"\u2028", "\u2029", "\ufffd", "\xff", "\xc0\xaf", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "abc", "plain text "}
	for len(in) < 100<<10 {
		if next(50) == 0 {
			in = append(in, bytes.Repeat([]byte("x"), next(20000))...)
		}
		in = append(in, pieces[next(len(pieces))]...)
	}
	e := newEnv(t, []string{"cat", "/input"}, nil)
	if err := os.WriteFile(filepath.Join(e.bundle.Rootfs(), "input"), in, 0o644); err != nil {
		t.Fatal(err)
	}
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes through the Go driver (logger.Copy splits as docker
	// does); only the timestamps may differ.
	refPath := filepath.Join(t.TempDir(), "ref.log")
	lg, err := jsonfile.New(refPath, jsonfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := logger.Copy(bytes.NewReader(in), logger.Stdout, lg); err != nil {
		t.Fatal(err)
	}
	lg.Close()
	ref, _ := os.ReadFile(refPath)
	stamp := regexp.MustCompile(`"time":"[^"]*"`)
	got, exp := bytes.SplitAfter(raw, []byte("\n")), bytes.SplitAfter(ref, []byte("\n"))
	if len(got) != len(exp) {
		t.Fatalf("%d lines, the Go driver writes %d", len(got), len(exp))
	}
	total := 0
	for i := range got {
		g, x := stamp.ReplaceAll(got[i], []byte(`"time":""`)), stamp.ReplaceAll(exp[i], []byte(`"time":""`))
		if !bytes.Equal(g, x) {
			t.Fatalf("line %d: shim wrote\n%q\nthe Go driver writes\n%q", i, g, x)
		}
		if len(g) > 0 {
			total++
		}
	}
	want := len(loggertest.ReadAll(t, jsonfile.NewReader(e.logPath, 1), logger.ReadConfig{Tail: -1}))
	if total != want || total < bytes.Count(in, []byte("\n")) {
		t.Fatalf("%d lines, reader sees %d, input has %d newlines", total, want, bytes.Count(in, []byte("\n")))
	}
}

// cpuTicks is the shim's user+system time in clock ticks.
func cpuTicks(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// Out of file descriptors, the shim neither spins nor dies, and serves
// again once clients go away.
func TestOutOfFds(t *testing.T) {
	e := newEnv(t, []string{"sleep", "100"}, nil)
	c := e.start(t)
	lim := unix.Rlimit{Cur: uint64(fdCount(t, c.ShimPid()) + 4), Max: 4096}
	if err := unix.Prlimit(c.ShimPid(), unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
	var conns []net.Conn
	for i := 0; i < 20; i++ {
		conn, err := net.Dial("unix", c.Socket())
		if err != nil {
			break
		}
		conns = append(conns, conn)
	}
	time.Sleep(100 * time.Millisecond)
	before := cpuTicks(t, c.ShimPid())
	time.Sleep(time.Second)
	if used := cpuTicks(t, c.ShimPid()) - before; used > 20 {
		t.Errorf("the shim used %d ticks in a second while out of fds", used)
	}
	for _, conn := range conns {
		conn.Close()
	}
	if st, err := c.State(ctxT(t)); err != nil || st.Status != shimapi.StatusCreated {
		t.Fatalf("state after the fd storm: %+v %v", st, err)
	}
}

// Bulk stdin: the pipe's back-pressure holds the client, never the loop,
// and every byte arrives.
func TestAttachBulkStdin(t *testing.T) {
	e := newEnv(t, []string{"wc", "-c"}, nil)
	e.opts.Stdin = true
	c := e.start(t)
	ctx := ctxT(t)
	s, err := c.Attach(ctx, AttachOpts{Stdin: true, Stdout: true, CloseStdin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	const size = 32 << 20
	start := time.Now()
	go func() {
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for n := 0; n < size; n += len(chunk) {
			if _, err := s.Write(chunk); err != nil {
				return
			}
		}
		s.CloseWrite()
	}()
	// Meanwhile the shim answers at once.
	if _, err := c.State(ctx); err != nil {
		t.Fatal(err)
	}
	out, _ := frames(t, s)
	if strings.TrimSpace(string(out)) != strconv.Itoa(size) {
		t.Fatalf("wc -c counted %q, want %d", out, size)
	}
	t.Logf("%d MiB of stdin in %v", size>>20, time.Since(start))
}

// Requests racing a delete are answered ("not running", "already ending")
// or find no shim; none is reset by the shim's exit.
func TestRequestsRacingDelete(t *testing.T) {
	for round := 0; round < 5; round++ {
		e := newEnv(t, []string{"sleep", "100"}, nil)
		c := e.start(t)
		ctx := ctxT(t)
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		var (
			mu   sync.Mutex
			errs []error
			wg   sync.WaitGroup
		)
		stop := make(chan struct{})
		note := func(err error) {
			var se *shimapi.Error
			if err == nil || errors.As(err, &se) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist) {
				return
			}
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					note(c.Kill(ctx, syscall.SIGKILL, false))
					_, err := c.State(ctx)
					note(err)
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		if _, err := c.Delete(ctx, true); err != nil && !errors.Is(err, &shimapi.Error{Kind: shimapi.ErrKindInvalid}) {
			t.Fatal(err)
		}
		waitGone(t, c.ShimPid())
		close(stop)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("round %d: %d requests racing the delete failed, first: %v", round, len(errs), errs[0])
		}
	}
}

// max-file 1 truncates the live file in place, as docker does.
func TestLogRotationSingleFile(t *testing.T) {
	e := newEnv(t, []string{"sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done"}, map[string]string{"max-size": "1k"})
	c := e.start(t)
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(e.logPath + "*")
	fi, err := os.Stat(e.logPath)
	if len(names) != 1 || err != nil || fi.Size() > 1024+80 {
		t.Fatalf("files %v, live file %v %v", names, fi.Size(), err)
	}
	msgs := readLog(t, e, 1)
	if len(msgs) == 0 || string(msgs[len(msgs)-1].Line) != "line 199" {
		t.Fatalf("last message %v", msgs)
	}
}

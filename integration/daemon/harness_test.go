package daemon

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The harness: berthd comes from $BERTHD, or is built once per test binary
// into a temp dir. Each daemon gets its own data root, exec root and socket
// under a short temp dir (unix socket paths are limited to 107 bytes), and
// is stopped by its PID when the test ends.

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func berthdBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BERTHD"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "berthd-bin-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "berthd")
		out, err := exec.Command("go", "build", "-o", buildPath, "github.com/berth-engine/berth/cmd/berthd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build berthd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// daemon is one berthd under test.
type daemon struct {
	t                  *testing.T
	bin                string
	dir                string // holds data/, exec/ and the socket
	DataRoot, ExecRoot string
	Sock               string
	// Bridge and Bip are the default bridge's name and address, unique
	// per daemon so that test daemons never meet each other, a real
	// berthd or docker0.
	Bridge, Bip string
	cmd         *exec.Cmd
	stderr      *syncBuffer
	exited      chan struct{}
	exitErr     error
}

// newDaemon prepares (but does not start) a daemon with private roots.
func newDaemon(t *testing.T) *daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "berthd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var r [3]byte
	rand.Read(r[:])
	d := &daemon{
		t: t, bin: berthdBinary(t), dir: dir,
		DataRoot: filepath.Join(dir, "data"), ExecRoot: filepath.Join(dir, "exec"),
		Sock:   filepath.Join(dir, "berth.sock"),
		Bridge: fmt.Sprintf("bt%x", r[:]),
		Bip:    fmt.Sprintf("10.%d.%d.1/24", 100+int(r[0])%150, r[1]),
	}
	// Registered first, so it runs last (after the daemon's stop).
	t.Cleanup(d.hostCleanup)
	return d
}

func (d *daemon) args(extra ...string) []string {
	return append([]string{
		"--config-file", filepath.Join(d.dir, "daemon.json"), // absent: defaults
		"--data-root", d.DataRoot, "--exec-root", d.ExecRoot, "-H", "unix://" + d.Sock,
		// The firewall only where a test asks for it (--iptables=true):
		// the default bridge works without it on one host.
		"--bridge", d.Bridge, "--bip", d.Bip, "--iptables=false",
	}, extra...)
}

// start runs berthd and waits until it answers _ping.
func (d *daemon) start(extra ...string) {
	t := d.t
	t.Helper()
	d.stderr = &syncBuffer{}
	d.cmd = exec.Command(d.bin, d.args(extra...)...)
	d.cmd.Stderr = d.stderr
	d.cmd.Stdout = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func() { d.exitErr = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(d.kill)

	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			t.Fatalf("berthd exited during start: %v\n%s", d.exitErr, d.stderr)
		default:
		}
		if resp, err := d.http().Get("http://berth/_ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("berthd did not answer _ping in time\n%s", d.stderr)
}

// stop sends SIGTERM to our berthd and waits for it to exit.
func (d *daemon) stop() error {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-d.exited:
		return d.exitErr
	case <-time.After(15 * time.Second):
		d.kill()
		return fmt.Errorf("berthd did not exit on SIGTERM\n%s", d.stderr)
	}
}

// kill ends our berthd, by its PID, if it still runs.
func (d *daemon) kill() {
	select {
	case <-d.exited:
		return
	default:
	}
	d.cmd.Process.Kill()
	<-d.exited
}

// hostCleanup runs after every other cleanup of the test: a berthd that
// was killed (no clean shutdown) leaves its default bridge and its
// namespace mounts (the ready pool's), which go now.
func (d *daemon) hostCleanup() {
	if d.cmd != nil {
		select {
		case <-d.exited:
		default:
			return // still running: not ours to undo
		}
	}
	exec.Command("ip", "link", "del", d.Bridge).Run()
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], d.ExecRoot+"/netns/") {
			syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
	// (an exec root elsewhere than d.dir was removed before, which the
	// mounts may have stopped)
	os.RemoveAll(d.ExecRoot)
}

// http returns a client that dials the daemon's socket.
func (d *daemon) http() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.Sock)
		}},
	}
}

func (d *daemon) do(method, path string) (*http.Response, []byte) {
	d.t.Helper()
	req, err := http.NewRequest(method, "http://berth"+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	c := d.http()
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return resp, b
}

// docker runs the docker CLI against the daemon.
func (d *daemon) docker(args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock, "DOCKER_CONFIG="+filepath.Join(d.dir, "docker-config"))
	out, err := cmd.CombinedOutput()
	return string(bytes.TrimSpace(out)), err
}

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

package container

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	_ "github.com/berth-engine/berth/internal/runtime/nsexec" // the init's C stage
	"github.com/berth-engine/berth/internal/testutil"
)

// The test binary doubles as berth-runtime: Create spawns a copy of
// /proc/self/exe with "init", which must become the container's init.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		Init()
	}
	os.Exit(m.Run())
}

func newRuntime(t *testing.T) *Runtime {
	t.Helper()
	testutil.RequiresRoot(t)
	rt, err := New(Options{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs, _ := rt.List()
		for _, c := range cs {
			if err := c.Delete(true); err != nil {
				t.Errorf("cleanup %s: %v", c.ID(), err)
			}
		}
	})
	return rt
}

// uniqueCgroup gives each container its own cgroup so parallel runs and
// leftovers never collide.
func uniqueCgroup(t *testing.T) string {
	return "/berth-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000")
}

// output is a pipe whose write end a container gets as stdout/stderr.
type output struct {
	r, w *os.File
	done chan []byte
}

func newOutput(t *testing.T) *output {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	o := &output{r: r, w: w, done: make(chan []byte, 1)}
	go func() {
		data, _ := io.ReadAll(r)
		o.done <- data
	}()
	t.Cleanup(func() { r.Close(); w.Close() })
	return o
}

// text closes our write end and returns what the container wrote, once
// every copy of the write end (the container's) is closed.
func (o *output) text(t *testing.T) string {
	t.Helper()
	o.w.Close()
	select {
	case data := <-o.done:
		return string(data)
	case <-time.After(10 * time.Second):
		t.Fatal("container output did not close")
		return ""
	}
}

// bundle makes a busybox bundle running args, with a unique cgroup.
func bundle(t *testing.T, args []string, edit func(*specs.Spec)) *testutil.Bundle {
	t.Helper()
	return testutil.NewBundle(t, args, func(s *specs.Spec) {
		s.Linux.CgroupsPath = uniqueCgroup(t)
		if edit != nil {
			edit(s)
		}
	})
}

// run creates, starts and waits for a container, returning its exit code
// and combined output.
func run(t *testing.T, rt *Runtime, id string, b *testutil.Bundle) (int, string) {
	t.Helper()
	out := newOutput(t)
	c, err := rt.Create(id, CreateOpts{Bundle: b.Dir, Stdin: devNull(t), Stdout: out.w, Stderr: out.w})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	code, err := c.Wait()
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	text := out.text(t)
	if err := c.Delete(false); err != nil {
		t.Fatalf("delete: %v", err)
	}
	return code, text
}

func devNull(t *testing.T) *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func cgroupGone(t *testing.T, cgPath string) {
	t.Helper()
	for _, sub := range []string{"memory", "pids", "cpu", "freezer"} {
		p := filepath.Join("/sys/fs/cgroup", sub, cgPath)
		if _, err := os.Stat(p); err == nil {
			t.Errorf("cgroup %s left behind", p)
		}
	}
}

func contains(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("output %q does not contain %q", got, want)
	}
}

func testutilRoot(t *testing.T) { testutil.RequiresRoot(t) }

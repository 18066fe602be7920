package container

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CVE-2024-21626: no descriptor of the runtime's reaches the container. The
// only fds of `ls` are stdio and the directory it lists.
func TestNoHostFdLeaks(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"ls", "/proc/self/fd"}, nil)
	code, out := run(t, rt, "fds", b)
	if code != 0 || strings.Fields(out) == nil || strings.Join(strings.Fields(out), " ") != "0 1 2 3" {
		t.Fatalf("container fds: code %d %q, want only 0 1 2 3", code, out)
	}
}

// CVE-2024-21626: a working directory given as a leaked descriptor must not
// land outside the container's root.
func TestCwdThroughProcSelfFd(t *testing.T) {
	rt := newRuntime(t)
	for fd := 3; fd <= 9; fd++ {
		b := bundle(t, []string{"sh", "-c", "ls -d /etc/passwd; cat /etc/hostname 2>/dev/null; pwd"}, func(s *specs.Spec) {
			s.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", fd)
		})
		out := newOutput(t)
		c, err := rt.Create(fmt.Sprintf("cwd%d", fd), CreateOpts{Bundle: b.Dir, Stdin: devNull(t), Stdout: out.w, Stderr: out.w})
		if err != nil {
			continue // refused: fine
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		_, _ = c.Wait()
		text := out.text(t)
		_ = c.Delete(true)
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if wd := lines[len(lines)-1]; !strings.HasPrefix(wd, "/") || strings.Contains(text, "unreachable") {
			t.Fatalf("cwd /proc/self/fd/%d escaped the root: %q", fd, text)
		}
	}
}

func sha(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// CVE-2019-5736: a container process that gets hold of the runtime's
// /proc/<pid>/exe while an exec enters the container cannot write to the
// runtime's binary. The container hammers every /proc/N/exe it can see
// while the host runs execs into it.
func TestRuntimeBinaryNotOverwritable(t *testing.T) {
	rt := newRuntime(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := sha(t, self)
	script := `while :; do for p in /proc/[0-9]*; do [ "$p" = /proc/1 ] && continue; echo pwned >> $p/exe 2>/dev/null && echo WROTE $p; done; done`
	b := bundle(t, []string{"sh", "-c", script}, func(s *specs.Spec) {
		s.Process.Capabilities = nil // even without caps the write must fail; also test with full root below
	})
	out := newOutput(t)
	c, err := rt.Create("exe", CreateOpts{Bundle: b.Dir, Stdin: devNull(t), Stdout: out.w, Stderr: out.w})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		p := *b.Spec.Process
		p.Args = []string{"true"}
		proc, err := c.Exec(ExecOpts{Process: &p, Stdin: devNull(t)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := proc.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Delete(true); err != nil {
		t.Fatal(err)
	}
	text := out.text(t)
	if after := sha(t, self); after != before {
		t.Fatalf("the runtime binary changed (container output %q)", text)
	}
	if strings.Contains(text, "WROTE") {
		t.Fatalf("a container process wrote to a runtime exe: %q", text)
	}
}

// The runtime's init runs from a write-protected view of the binary (a
// detached read-only overlay, or a sealed memfd): opening /proc/<init>/exe
// for writing fails even for host root.
func TestInitExecutableIsWriteProtected(t *testing.T) {
	rt := newRuntime(t)
	b := bundle(t, []string{"true"}, nil)
	c, err := rt.Create("sealed", CreateOpts{Bundle: b.Dir, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/exe", c.Pid()), os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write([]byte("x"))
		f.Close()
	}
	if err == nil {
		t.Fatal("wrote to the init's executable")
	}
}

func TestSealedCopyRefusesWrites(t *testing.T) {
	f, err := sealedSelf()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("wrote to the sealed copy")
	}
}

func TestOverlayViewRefusesWrites(t *testing.T) {
	testutilRoot(t)
	f, err := overlaySelf(t.TempDir())
	if err != nil {
		t.Skipf("overlayfs unavailable: %v", err)
	}
	defer f.Close()
	w, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.O_WRONLY, 0)
	if err == nil {
		w.Close()
		t.Fatal("opened the overlay view of the binary for writing")
	}
}

// Package inittest tests berth-init on the host, as any user: the binary is built
// from ../berth-init.c with the Makefile's flags. Inside a container (as PID
// 1) it is tested by integration/daemon/init_test.go.
package inittest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var built struct {
	sync.Once
	path string
	out  []byte
	err  error
}

// binary compiles berth-init once per test process into a directory under
// $HOME (not /tmp, which may be noexec); it skips without a C compiler.
func binary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler (cc)")
	}
	built.Do(func() {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		dir := filepath.Join(home, ".cache", "berth-test")
		if built.err = os.MkdirAll(dir, 0o755); built.err != nil {
			return
		}
		built.path = filepath.Join(dir, fmt.Sprintf("berth-init-%d", os.Getpid()))
		built.out, built.err = exec.Command("cc", "-static", "-O2", "-Wall", "-Wextra", "-Werror",
			`-DBERTH_INIT_COMMIT="test"`, "-o", built.path, filepath.Join("..", "berth-init.c")).CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("cc berth-init.c: %v\n%s", built.err, built.out)
	}
	return built.path // removed by TestMain
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		os.Remove(built.path)
	}
	os.Exit(code)
}

func TestExitStatus(t *testing.T) {
	bin := binary(t)
	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"exit code", []string{"sh", "-c", "exit 7"}, 7, ""},
		{"after --", []string{"--", "sh", "-c", "echo $0 $1", "a", "b"}, 0, "a b\n"},
		{"killed by a signal", []string{"sh", "-c", "kill -9 $$"}, 128 + 9, ""},
		{"missing command", []string{"/nonexistent/cmd"}, 127, ""},
		{"not executable", []string{"../berth-init.c"}, 126, ""},
		{"no command", nil, 2, ""},
		{"version", []string{"--version"}, 0, "berth-init version dev - git.test\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code || string(out) != c.out {
				t.Fatalf("exit %d output %q, want %d %q", code, out, c.code, c.out)
			}
		})
	}
}

// start runs berth-init with args and waits for the command's first line
// of output ("ready"); the rest of the output is returned by wait.
func start(t *testing.T, args ...string) (cmd *exec.Cmd, wait func() (string, int)) {
	t.Helper()
	cmd = exec.Command(binary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	r := bufio.NewReader(stdout)
	if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	return cmd, func() (string, int) {
		rest, _ := r.ReadString(0)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			return rest, ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return rest, 0
	}
}

// TestForwardsSignals: signals sent to the init reach the command, which
// handles them; the init exits with the command's status.
func TestForwardsSignals(t *testing.T) {
	cmd, wait := start(t, "sh", "-c",
		`trap "echo USR1" USR1; trap "echo SEGV" SEGV; trap "echo TERM; exit 3" TERM; echo ready; while :; do sleep 0.02; done`)
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGSEGV, syscall.SIGTERM} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the shell runs a trap between commands
	}
	out, code := wait()
	if code != 3 || out != "USR1\nSEGV\nTERM\n" {
		t.Fatalf("exit %d output %q", code, out)
	}
}

// TestSignalKillsCommand: an unhandled SIGTERM kills the command and the
// init reports it as 128+15.
func TestSignalKillsCommand(t *testing.T) {
	cmd, wait := start(t, "sh", "-c", "echo ready; exec sleep 100")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, code := wait(); code != 143 {
		t.Fatalf("exit %d, want 143", code)
	}
}

// TestReapsOrphans: orphans of the command come to the init (a child
// subreaper off PID 1) and are reaped, never left zombies.
func TestReapsOrphans(t *testing.T) {
	cmd, wait := start(t, "sh", "-c", `sh -c "sleep 0.2 &"; sh -c "sleep 0.2 &"; echo ready; exec sleep 100`)
	pid := cmd.Process.Pid
	// Until the orphans exit, they are the init's children beside sleep.
	deadline := time.Now().Add(10 * time.Second)
	for {
		kids, zombies := children(pid)
		if len(zombies) > 0 {
			t.Fatalf("zombie children of the init: %v", zombies)
		}
		if len(kids) == 1 {
			break // only the command (sleep 100) is left
		}
		if time.Now().After(deadline) {
			t.Fatalf("the init's children stay %v", kids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if _, code := wait(); code != 143 {
		t.Fatalf("exit %d, want 143", code)
	}
}

// children lists the processes whose parent is pid, and those of them
// that are zombies, from /proc.
func children(pid int) (all, zombies []string) {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid ...
		if len(f) < 2 || f[1] != fmt.Sprint(pid) {
			continue
		}
		all = append(all, s[:i+1])
		if f[0] == "Z" {
			zombies = append(zombies, s[:i+1])
		}
	}
	return all, zombies
}

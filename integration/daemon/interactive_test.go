package daemon

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// These drive stdin, attach, exec, pause/unpause, update and health checks
// through the real docker CLI.

func TestRunInteractiveStdin(t *testing.T) {
	d := containerDaemon(t)
	cmd := exec.Command("docker", "run", "-i", "--rm", "busybox", "cat")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock)
	cmd.Stdin = strings.NewReader("hello stdin\nsecond line\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run -i: %v\n%s\nberthd:\n%s", err, out, d.stderr)
	}
	if got := string(out); got != "hello stdin\nsecond line\n" {
		t.Fatalf("cat echoed %q", got)
	}
}

// A large stdin goes through `run -i cat` intact.
func TestRunInteractiveLargeStdin(t *testing.T) {
	d := containerDaemon(t)
	const size = 16 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i/4096)
	}
	want := sha256.Sum256(data)
	cmd := exec.Command("docker", "run", "-i", "--rm", "busybox", "cat")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock)
	cmd.Stdin = strings.NewReader(string(data))
	h := sha256.New()
	cmd.Stdout = h
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run -i: %v\n%s", err, stderr.String())
	}
	if got := h.Sum(nil); hex.EncodeToString(got) != hex.EncodeToString(want[:]) {
		t.Fatalf("checksum differs")
	}
}

func TestExecDockerCLI(t *testing.T) {
	d := containerDaemon(t)
	id := lastLine(d.mustDocker("run", "-d", "--name", "ex", "-e", "FROM_RUN=1", "busybox", "sleep", "100"))
	if out := d.mustDocker("exec", "ex", "sh", "-c", "echo $FROM_RUN $X $(pwd) $(id -u)"); out != "1 / 0" {
		t.Fatalf("exec output %q", out)
	}
	if out := d.mustDocker("exec", "-e", "X=2", "-w", "/tmp", "-u", "1000", "ex", "sh", "-c", "echo $FROM_RUN $X $(pwd) $(id -u)"); out != "1 2 /tmp 1000" {
		t.Fatalf("exec with env/workdir/user: %q", out)
	}
	out, err := d.docker("exec", "ex", "sh", "-c", "echo failing; exit 3")
	if code := exitCode(err); code != 3 || out != "failing" {
		t.Fatalf("exec exit: code %d, out %q", code, out)
	}
	d.mustDocker("exec", "-d", "ex", "sh", "-c", "sleep 0.2; touch /tmp/flag")
	eventually(t, func() error {
		_, err := d.docker("exec", "ex", "test", "-f", "/tmp/flag")
		return err
	})
	// stdin through exec -i
	cmd := exec.Command("docker", "exec", "-i", "ex", "sh", "-c", "tr a-z A-Z")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock)
	cmd.Stdin = strings.NewReader("shout\n")
	if b, err := cmd.CombinedOutput(); err != nil || string(b) != "SHOUT\n" {
		t.Fatalf("exec -i: %v %q", err, b)
	}
	// The exec joins the container's namespaces: same hostname, pid 1 is
	// the container's.
	if out := d.mustDocker("exec", "ex", "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "sleep") {
		t.Fatalf("pid 1 in exec is %q", out)
	}
	if _, err := d.docker("exec", "ex", "/no/such/binary"); exitCode(err) != 126 && exitCode(err) != 127 {
		t.Fatalf("exec of a missing binary: %v", err)
	}
	d.mustDocker("stop", "-t", "0", id)
	if out, err := d.docker("exec", "ex", "true"); err == nil || !strings.Contains(out, "is not running") {
		t.Fatalf("exec into a stopped container: %v %q", err, out)
	}
}

func TestPauseUnpauseUpdate(t *testing.T) {
	d := containerDaemon(t)
	id := lastLine(d.mustDocker("run", "-d", "busybox", "sh", "-c", "while true; do echo tick; sleep 0.05; done"))
	d.mustDocker("pause", id)
	if st := d.mustDocker("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", id); st != "paused true" {
		t.Fatalf("after pause: %q", st)
	}
	pid := d.mustDocker("inspect", "-f", "{{.State.Pid}}", id)
	freezer := cgroupFile(t, pid, "freezer", "freezer.state")
	if freezer != "" {
		if b, _ := os.ReadFile(freezer); strings.TrimSpace(string(b)) != "FROZEN" {
			t.Fatalf("freezer.state %q", b)
		}
	}
	if out, err := d.docker("exec", id, "true"); err == nil || !strings.Contains(out, "paused") {
		t.Fatalf("exec into a paused container: %v %q", err, out)
	}
	if out, err := d.docker("pause", id); err == nil || !strings.Contains(out, "already paused") {
		t.Fatalf("second pause: %v %q", err, out)
	}
	d.mustDocker("unpause", id)
	if st := d.mustDocker("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", id); st != "running false" {
		t.Fatalf("after unpause: %q", st)
	}
	if out, err := d.docker("unpause", id); err == nil || !strings.Contains(out, "is not paused") {
		t.Fatalf("second unpause: %v %q", err, out)
	}

	d.mustDocker("update", "--pids-limit", "77", "--memory", "96m", "--memory-swap", "200m", id)
	if f := cgroupFile(t, pid, "pids", "pids.max"); f != "" {
		if b, _ := os.ReadFile(f); strings.TrimSpace(string(b)) != "77" {
			t.Fatalf("pids.max %q after update", b)
		}
	}
	if f := cgroupFile(t, pid, "memory", "memory.limit_in_bytes"); f != "" {
		if b, _ := os.ReadFile(f); strings.TrimSpace(string(b)) != fmt.Sprint(96<<20) {
			t.Fatalf("memory.limit_in_bytes %q after update", b)
		}
	}
	if got := d.mustDocker("inspect", "-f", "{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}}", id); got != fmt.Sprintf("77 %d", 96<<20) {
		t.Fatalf("inspect after update: %q", got)
	}
	if out, err := d.docker("update", "--memory", "1k", id); err == nil || !strings.Contains(out, "Minimum memory limit") {
		t.Fatalf("update to 1k: %v %q", err, out)
	}
	d.mustDocker("rm", "-f", id)
}

// cgroupFile is the path of file in the v1 hierarchy of ctrl for pid, or ""
// when the host has no such hierarchy.
func cgroupFile(t *testing.T, pid, ctrl, file string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && strings.Contains(","+parts[1]+",", ","+ctrl+",") {
			return filepath.Join("/sys/fs/cgroup", ctrl, parts[2], file)
		}
	}
	return ""
}

func TestHealthcheck(t *testing.T) {
	d := containerDaemon(t)
	id := lastLine(d.mustDocker("run", "-d", "--health-cmd", "cat /tmp/ok", "--health-interval", "200ms",
		"--health-retries", "2", "busybox", "sleep", "100"))
	if st := d.mustDocker("inspect", "-f", "{{.State.Health.Status}}", id); st != "starting" && st != "unhealthy" {
		t.Fatalf("health at start: %q", st)
	}
	eventually(t, func() error {
		if st := d.mustDocker("inspect", "-f", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", id); !strings.HasPrefix(st, "unhealthy") {
			return fmt.Errorf("health %q, want unhealthy", st)
		}
		return nil
	})
	d.mustDocker("exec", id, "sh", "-c", "echo fine > /tmp/ok")
	eventually(t, func() error {
		if st := d.mustDocker("inspect", "-f", "{{.State.Health.Status}}", id); st != "healthy" {
			return fmt.Errorf("health %q, want healthy", st)
		}
		return nil
	})
	logs := d.mustDocker("inspect", "-f", "{{range .State.Health.Log}}{{.ExitCode}}:{{.Output}}|{{end}}", id)
	if !strings.Contains(logs, "0:fine") {
		t.Fatalf("health log %q has no successful probe with its output", logs)
	}
	ev := d.mustDocker("events", "--since", "0", "--until", fmt.Sprint(time.Now().Unix()+1), "--filter", "container="+id, "--filter", "event=health_status", "--format", "{{.Action}}")
	if !strings.Contains(ev, "health_status: unhealthy") || !strings.Contains(ev, "health_status: healthy") {
		t.Fatalf("health events:\n%s", ev)
	}
	d.mustDocker("rm", "-f", id)
}

// A TTY container driven through a pty on the client side, as a user at a
// terminal drives `docker run -it`.
func TestRunTTY(t *testing.T) {
	d := containerDaemon(t)
	cmd := exec.Command("docker", "run", "-it", "--name", "tty1", "busybox", "sh")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock, "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	out := make(chan string, 1024)
	go func() {
		r := bufio.NewReader(ptmx)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				out <- line
			}
			if err != nil {
				close(out)
				return
			}
		}
	}()
	expect := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		var seen []string
		for {
			select {
			case l, ok := <-out:
				if !ok {
					t.Fatalf("pty closed waiting for %q; saw %q\nberthd:\n%s", want, seen, d.stderr)
				}
				seen = append(seen, l)
				if strings.Contains(l, want) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q in %q\nberthd:\n%s", want, seen, d.stderr)
			}
		}
	}
	io.WriteString(ptmx, "tty; echo marker-$((40+2))\n")
	expect("/dev/pts/0")
	expect("marker-42")
	io.WriteString(ptmx, "stty size\n")
	expect("24 80")
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the CLI forwards SIGWINCH as a resize
	io.WriteString(ptmx, "stty size\n")
	expect("33 101")
	// ctrl-p ctrl-q detaches; the container keeps running.
	io.WriteString(ptmx, "\x10\x11")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("detach: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("docker run -it did not detach")
	}
	if st := d.mustDocker("inspect", "-f", "{{.State.Running}}", "tty1"); st != "true" {
		t.Fatalf("after detach running=%s", st)
	}
	d.mustDocker("rm", "-f", "tty1")
}

// size=1 on list and inspect reports the writable layer's use.
func TestContainerSizes(t *testing.T) {
	d := containerDaemon(t)
	id := lastLine(d.mustDocker("run", "-d", "busybox", "sh", "-c", "dd if=/dev/zero of=/big bs=1k count=100 2>/dev/null; sleep 100"))
	eventually(t, func() error {
		out := d.mustDocker("inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", id)
		var rw, rootfs int64
		if _, err := fmt.Sscan(out, &rw, &rootfs); err != nil {
			return fmt.Errorf("inspect -s: %q: %v", out, err)
		}
		if rw < 100<<10 || rootfs <= rw {
			return fmt.Errorf("SizeRw %d, SizeRootFs %d", rw, rootfs)
		}
		return nil
	})
	if out := d.mustDocker("ps", "-s", "--format", "{{.Size}}"); !strings.Contains(out, "kB") {
		t.Fatalf("ps -s size column %q", out)
	}
	if out := d.mustDocker("inspect", "-f", "{{.SizeRw}}", id); out != "<nil>" {
		t.Fatalf("inspect without -s has SizeRw %q", out)
	}
	d.mustDocker("rm", "-f", id)
}

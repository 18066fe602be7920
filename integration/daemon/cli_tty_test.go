package daemon

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// The berth CLI at a terminal: run -it, exec -it and attach driven through
// a pty against a real berthd, as a user types.

// ptySession is a CLI running on a pty, with everything it printed kept.
type ptySession struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File
	mu   sync.Mutex
	out  strings.Builder
	mark int // expect looks after this offset
	done chan error
	read chan struct{} // closed when the reader has hit the end of the pty
}

func startPty(t *testing.T, d *daemon, bin string, args ...string) *ptySession {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BERTH_HOST=unix://"+d.Sock, "DOCKER_HOST=unix://"+d.Sock, "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptySession{t: t, cmd: cmd, ptmx: ptmx, done: make(chan error, 1), read: make(chan struct{})}
	go func() {
		defer close(s.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill() // by its pid; the test has failed
			<-s.done
		}
		ptmx.Close()
	})
	return s
}

func (s *ptySession) send(in string) {
	s.t.Helper()
	if _, err := io.WriteString(s.ptmx, in); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits for want in the output printed since the last match.
func (s *ptySession) expect(want string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		all := s.out.String()
		s.mu.Unlock()
		if i := strings.Index(all[s.mark:], want); i >= 0 {
			s.mark += i + len(want)
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q in %q", want, all[s.mark:])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exited waits for the CLI to exit and returns its status.
func (s *ptySession) exited() int {
	s.t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		// What the CLI printed last may still be in the pty: the reader
		// gets it before the end (EIO once the last slave fd is closed).
		select {
		case <-s.read:
		case <-time.After(2 * time.Second):
		}
		return exitCode(err)
	case <-time.After(10 * time.Second):
		s.t.Fatalf("%v did not exit; printed %q", s.cmd.Args, s.out.String())
		return -1
	}
}

// resize changes the terminal size; the CLI sends it on SIGWINCH.
func (s *ptySession) resize(rows, cols uint16) {
	s.t.Helper()
	if err := pty.Setsize(s.ptmx, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		s.t.Fatal(err)
	}
}

// shellChecks runs, in a shell on the session's terminal: tty, stty size
// through a resize, and a ctrl-c that ends a sleep and gives the prompt back.
func shellChecks(s *ptySession, wantTTY string) {
	s.t.Helper()
	s.send("tty; echo tty-$((40+2))\r")
	s.expect(wantTTY)
	s.expect("tty-42")
	s.send("stty size\r")
	s.expect("24 80")
	s.resize(33, 101)
	// The resize is asynchronous (SIGWINCH → POST resize): ask until seen.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.send("stty size\r")
		time.Sleep(150 * time.Millisecond)
		s.mu.Lock()
		seen := strings.Contains(s.out.String()[s.mark:], "33 101")
		s.mu.Unlock()
		if seen {
			s.expect("33 101")
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("stty size never followed the resize: %q", s.out.String()[s.mark:])
		}
	}
	t0 := time.Now()
	s.send("sleep 100\r")
	time.Sleep(300 * time.Millisecond)
	s.send("\x03")
	// The shell gets the prompt back and reports the sleep killed by
	// SIGINT: 128+2.
	s.send("echo status-$?\r")
	s.expect("status-130")
	s.send("echo back-$((1+2))\r")
	s.expect("back-3")
	if time.Since(t0) > 20*time.Second {
		s.t.Fatalf("ctrl-c did not end the sleep")
	}
}

func TestBerthCLITerminal(t *testing.T) {
	d := containerDaemon(t)
	b := berthFor(t, d)

	// run -it: a shell on the container's own terminal.
	run := startPty(t, d, b.bin, "run", "-it", "--name", "term", "busybox", "sh")
	shellChecks(run, "/dev/pts/0")
	// Output the container writes after the detach reaches the next attach
	// (as with docker, what is written while nobody is attached is only in
	// the log): repeated for 10 s so a slow machine still has some left.
	run.send("(for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1; echo late-$((6*7)); done) &\r")
	run.send("\x10\x11") // ctrl-p ctrl-q
	if code := run.exited(); code != 0 {
		t.Fatalf("detach: berth run exited %d: %q", code, run.out.String())
	}
	if st := d.mustDocker("inspect", "-f", "{{.State.Running}}", "term"); st != "true" {
		t.Fatalf("after the detach running=%s", st)
	}

	att := startPty(t, d, b.bin, "attach", "term")
	att.expect("late-42")
	att.send("echo attached-$((2+3))\r")
	att.expect("attached-5")
	att.send("\x10\x11")
	// As the docker CLI 28 against dockerd: attach ends a detach with
	// "read escape sequence" and status 1 (run -it says nothing, 0).
	if code := att.exited(); code != 1 || !strings.Contains(att.out.String(), "read escape sequence") {
		t.Fatalf("detach: berth attach exited %d: %q", code, att.out.String())
	}
	if st := d.mustDocker("inspect", "-f", "{{.State.Running}}", "term"); st != "true" {
		t.Fatalf("after the second detach running=%s", st)
	}

	// exec -it: a second shell on a terminal of its own.
	ex := startPty(t, d, b.bin, "exec", "-it", "term", "sh")
	shellChecks(ex, "/dev/pts/1")
	ex.send("exit 7\r")
	if code := ex.exited(); code != 7 {
		t.Fatalf("berth exec -it exited %d, want the shell's 7: %q", code, ex.out.String())
	}

	// Detaching from exec -it leaves its shell running (as docker's CLI:
	// "read escape sequence", status 1).
	ex2 := startPty(t, d, b.bin, "exec", "-it", "term", "sh", "-c", "echo exec2-$((3*3)); exec sleep 1234")
	ex2.expect("exec2-9")
	ex2.send("\x10\x11")
	if code := ex2.exited(); code != 1 || !strings.Contains(ex2.out.String(), "read escape sequence") {
		t.Fatalf("detach: berth exec exited %d: %q", code, ex2.out.String())
	}
	if ps := d.mustDocker("exec", "term", "ps", "-o", "args"); !strings.Contains(ps, "sleep 1234") {
		t.Fatalf("the detached exec is gone:\n%s", ps)
	}

	// No terminal: stdin piped through run -i.
	cmd := exec.Command(b.bin, "run", "-i", "--rm", "busybox", "cat")
	cmd.Env = append(os.Environ(), "BERTH_HOST=unix://"+d.Sock)
	cmd.Stdin = strings.NewReader("hi\n")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "hi\n" {
		t.Fatalf("echo hi | berth run -i cat: %v %q", err, out)
	}
	d.mustDocker("rm", "-f", "term")
}

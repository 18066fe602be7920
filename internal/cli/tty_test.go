//go:build linux

package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/cli"
	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

// shell is a fake TTY program: it reports each input byte as <xx> and each
// resize as [HxW]; q ends it with status 3, the end of its input with 0.
func shell(p *clitest.Proc) int {
	fmt.Fprint(p.Stdout, "ready\r\n")
	in := make(chan byte)
	go func() {
		defer close(in)
		b := make([]byte, 1)
		for {
			if _, err := p.Stdin.Read(b); err != nil {
				return
			}
			in <- b[0]
		}
	}()
	for {
		select {
		case b, ok := <-in:
			if !ok {
				return 0
			}
			if b == 'q' {
				return 3
			}
			fmt.Fprintf(p.Stdout, "<%02x>", b)
		case sz := <-p.Resize:
			fmt.Fprintf(p.Stdout, "[%dx%d]", sz[0], sz[1])
		}
	}
}

// terminal is berth's end of a pty whose other end the test types into.
type terminal struct {
	t         *testing.T
	ptmx, tty *os.File
	mu        sync.Mutex
	screen    bytes.Buffer
}

func newTerminal(t *testing.T) *terminal {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, ptmx: ptmx, tty: tty}
	go func() {
		b := make([]byte, 1024)
		for {
			n, err := ptmx.Read(b)
			term.mu.Lock()
			term.screen.Write(b[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return term
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

func (term *terminal) waitFor(s string) {
	term.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(term.text(), s) {
		if time.Now().After(deadline) {
			term.t.Fatalf("no %q on the terminal: %q", s, term.text())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (term *terminal) raw() bool {
	st, err := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS)
	if err != nil {
		term.t.Fatal(err)
	}
	return st.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) == 0
}

// run starts berth on the terminal; the channel gives its exit status.
func (term *terminal) run(s *clitest.Server, args ...string) (<-chan int, *bytes.Buffer) {
	return term.runContext(context.Background(), s, args...)
}

func (term *terminal) runContext(ctx context.Context, s *clitest.Server, args ...string) (<-chan int, *bytes.Buffer) {
	var errb bytes.Buffer
	c := command.NewCli(term.tty, &errb, func(k string) string {
		if k == "BERTH_HOST" {
			return s.Host
		}
		return ""
	})
	c.In = term.tty
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, c, args) }()
	return done, &errb
}

func waitExit(t *testing.T, done <-chan int) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(5 * time.Second):
		t.Fatal("berth did not exit")
		return -1
	}
}

// run -it: the terminal is raw while the container runs (ctrl-c is a byte
// for the container, not a signal for berth), its size goes with the
// create and again after SIGWINCH, and it is restored at the exit.
func TestRunTTYRawModeAndResize(t *testing.T) {
	s := clitest.Start(t, withPrograms(shell, nil))
	term := newTerminal(t)
	done, errb := term.run(s, "run", "-it", "busybox", "sh")
	term.waitFor("ready\r\n")
	if !term.raw() {
		t.Fatal("terminal not in raw mode while attached")
	}
	if cs := s.Created()[0].HostConfig.ConsoleSize; cs != [2]uint{24, 80} {
		t.Fatalf("create ConsoleSize %v, want [24 80]", cs)
	}
	if cfg := s.Created()[0].Config; !cfg.Tty || !cfg.OpenStdin || !cfg.AttachStdin {
		t.Fatalf("config %+v", cfg)
	}
	term.waitFor("[24x80]")

	term.ptmx.Write([]byte{3})
	term.waitFor("<03>")

	if err := pty.Setsize(term.ptmx, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	// The test is not the terminal's session leader, so the kernel's
	// SIGWINCH goes elsewhere: send it as the kernel would.
	syscall.Kill(syscall.Getpid(), syscall.SIGWINCH)
	term.waitFor("[30x100]")

	term.ptmx.Write([]byte("q"))
	if code := waitExit(t, done); code != 3 {
		t.Fatalf("exit %d, want 3 (%s)", code, errb)
	}
	if term.raw() {
		t.Fatal("terminal left in raw mode")
	}
	var resizes []string
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, "/resize") {
			resizes = append(resizes, r.Query["h"][0]+"x"+r.Query["w"][0])
		}
	}
	if strings.Join(resizes, " ") != "24x80 30x100" {
		t.Fatalf("resize requests %v", resizes)
	}
}

// ctrl-p ctrl-q leaves the container running: berth prints nothing more,
// exits 0 and gives the terminal back.
func TestRunTTYDetach(t *testing.T) {
	s := clitest.Start(t, withPrograms(shell, nil))
	term := newTerminal(t)
	done, errb := term.run(s, "run", "-it", "--detach-keys", "ctrl-x,x", "busybox", "sh")
	term.waitFor("ready\r\n")
	term.ptmx.Write([]byte{0x18, 'a'})
	// A broken sequence is passed on whole.
	term.waitFor("<18><61>")
	before := term.text()
	term.ptmx.Write([]byte{0x18, 'x'})
	if code := waitExit(t, done); code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d stderr %q", code, errb)
	}
	time.Sleep(20 * time.Millisecond)
	if after := term.text(); after != before {
		t.Fatalf("printed %q after detaching", strings.TrimPrefix(after, before))
	}
	if term.raw() {
		t.Fatal("terminal left in raw mode")
	}
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, "/kill") || strings.HasSuffix(r.Path, "/stop") {
			t.Fatalf("detach sent %s", r.Path)
		}
	}
	if got := s.Requests(); !strings.Contains(fmt.Sprint(got), "detachKeys:[ctrl-x,x]") {
		t.Fatalf("attach without the detach keys: %v", got)
	}
}

// exec -it: the same terminal handling for an exec instance, with its
// size at create and resizes to /exec/{id}/resize; the status comes from
// exec inspect.
func TestExecTTY(t *testing.T) {
	s := clitest.Start(t, withPrograms(nil, shell))
	term := newTerminal(t)
	done, errb := term.run(s, "exec", "-it", "web", "sh")
	term.waitFor("ready\r\n")
	if !term.raw() {
		t.Fatal("terminal not in raw mode while attached")
	}
	term.waitFor("[24x80]")
	if err := pty.Setsize(term.ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGWINCH)
	term.waitFor("[40x120]")
	term.ptmx.Write([]byte("q"))
	if code := waitExit(t, done); code != 3 {
		t.Fatalf("exit %d, want 3 (%s)", code, errb)
	}
	if term.raw() {
		t.Fatal("terminal left in raw mode")
	}
	var resizes []string
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, "/exec/") && strings.HasSuffix(r.Path, "/resize") {
			resizes = append(resizes, r.Query["h"][0]+"x"+r.Query["w"][0])
		}
	}
	if strings.Join(resizes, " ") != "24x80 40x120" {
		t.Fatalf("exec resize requests %v", resizes)
	}
}

// Detaching from `attach` is reported as docker does: "read escape
// sequence", exit status 1.
func TestAttachTTYDetach(t *testing.T) {
	d := withPrograms(shell, nil)
	d.Inspect["term"] = container.InspectResponse{ID: "term", Name: "/term", State: &container.State{Status: container.StateRunning, Running: true},
		Config: &container.Config{Image: "busybox", Tty: true, OpenStdin: true}}
	s := clitest.Start(t, d)
	term := newTerminal(t)
	done, errb := term.run(s, "attach", "term")
	term.waitFor("ready\r\n")
	term.ptmx.Write([]byte("z"))
	term.waitFor("<7a>")
	term.ptmx.Write([]byte{16, 17})
	if code := waitExit(t, done); code != 1 || errb.String() != "read escape sequence\n" {
		t.Fatalf("exit %d stderr %q", code, errb)
	}
	if term.raw() {
		t.Fatal("terminal left in raw mode")
	}
}

// SIGINT and SIGTERM cancel berth's context (cmd/berth): a raw terminal is
// given back on the way out.
func TestRunTTYRestoredOnCancel(t *testing.T) {
	s := clitest.Start(t, withPrograms(shell, nil))
	term := newTerminal(t)
	ctx, cancel := context.WithCancel(context.Background())
	done, _ := term.runContext(ctx, s, "run", "-it", "busybox", "sh")
	term.waitFor("ready\r\n")
	if !term.raw() {
		t.Fatal("terminal not in raw mode while attached")
	}
	cancel()
	if code := waitExit(t, done); code == 0 {
		t.Fatal("a cancelled run exited 0")
	}
	if term.raw() {
		t.Fatal("terminal left in raw mode")
	}
}

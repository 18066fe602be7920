//go:build unix

package cli_test

import (
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/cli/clitest"
)

func cat(p *clitest.Proc) int {
	io.Copy(p.Stdout, p.Stdin)
	return 0
}

func withPrograms(prog, exec clitest.Program) clitest.Data {
	d := clitest.Sample(now)
	d.Program, d.ExecProgram = prog, exec
	d.Inspect["job"] = container.InspectResponse{ID: "job", Name: "/job", State: &container.State{Status: container.StateExited},
		Config: &container.Config{Image: "busybox"}}
	return d
}

// echo hi | berth run -i busybox cat: stdin reaches the container, its
// end closes the container's stdin, and the run exits with cat's status.
func TestRunInteractiveStdin(t *testing.T) {
	s := clitest.Start(t, withPrograms(cat, nil))
	r := runIn(t, s, strings.NewReader("hi\n"), "run", "-i", "busybox", "cat")
	if r.code != 0 || r.out != "hi\n" || r.err != "" {
		t.Fatalf("exit %d out %q err %q", r.code, r.out, r.err)
	}
	cfg := s.Created()[0].Config
	if !cfg.OpenStdin || !cfg.AttachStdin || !cfg.StdinOnce || !cfg.AttachStdout || !cfg.AttachStderr || cfg.Tty {
		t.Fatalf("config %+v", cfg)
	}
}

func TestRunStreamsAndStatus(t *testing.T) {
	s := clitest.Start(t, withPrograms(func(p *clitest.Proc) int {
		fmt.Fprintln(p.Stdout, "out")
		fmt.Fprintln(p.Stderr, "err")
		return 3
	}, nil))
	r := runIn(t, s, strings.NewReader(""), "run", "busybox")
	if r.code != 3 || r.out != "out\n" || r.err != "err\n" {
		t.Fatalf("exit %d out %q err %q", r.code, r.out, r.err)
	}
	// -a stdout: stderr is not attached.
	r = runIn(t, s, nil, "run", "-a", "stdout", "busybox")
	cfg := s.Created()[1].Config
	if r.code != 3 || cfg.AttachStderr || !cfg.AttachStdout || cfg.AttachStdin {
		t.Fatalf("exit %d config %+v", r.code, cfg)
	}
}

// A signal berth receives is sent on to the container (--sig-proxy).
func TestRunSigProxy(t *testing.T) {
	ready := make(chan struct{})
	s := clitest.Start(t, withPrograms(func(p *clitest.Proc) int {
		close(ready)
		fmt.Fprintln(p.Stdout, <-p.Signal)
		return 138
	}, nil))
	go func() {
		<-ready
		syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
	}()
	r := runIn(t, s, nil, "run", "busybox", "sleep", "9")
	if r.code != 138 || r.out != "USR1\n" {
		t.Fatalf("exit %d out %q err %q", r.code, r.out, r.err)
	}
}

func TestRunTTYNeedsTerminal(t *testing.T) {
	s := clitest.Start(t, withPrograms(nil, nil))
	r := runIn(t, s, strings.NewReader(""), "run", "-it", "busybox")
	if r.code != 1 || r.err != "the input device is not a TTY\n" || len(s.Created()) != 0 {
		t.Fatalf("exit %d err %q", r.code, r.err)
	}
	r = runIn(t, s, nil, "run", "-d", "-a", "stdout", "busybox")
	if r.code != 1 || r.err != "conflicting options: cannot specify both --attach and --detach\n" {
		t.Fatalf("exit %d err %q", r.code, r.err)
	}
}

func TestStartAttachInteractive(t *testing.T) {
	s := clitest.Start(t, withPrograms(func(p *clitest.Proc) int {
		b, _ := io.ReadAll(p.Stdin)
		fmt.Fprintf(p.Stdout, "%s!\n", strings.TrimSpace(string(b)))
		return 2
	}, nil))
	r := runIn(t, s, nil, "create", "-i", "--name", "c1", "busybox", "cat")
	if r.code != 0 {
		t.Fatalf("create: %d %s", r.code, r.err)
	}
	r = runIn(t, s, strings.NewReader("hey\n"), "start", "-a", "-i", "c1")
	if r.code != 2 || r.out != "hey!\n" {
		t.Fatalf("exit %d out %q err %q", r.code, r.out, r.err)
	}
	r = runIn(t, s, nil, "start", "-a", "c1", "job")
	if r.code != 1 || r.err != "you cannot start and attach multiple containers at once\n" {
		t.Fatalf("exit %d err %q", r.code, r.err)
	}
}

func TestAttach(t *testing.T) {
	s := clitest.Start(t, withPrograms(func(p *clitest.Proc) int {
		fmt.Fprintln(p.Stdout, "hello")
		return 4
	}, nil))
	r := runIn(t, s, nil, "attach", "job")
	if r.code != 1 || r.err != "You cannot attach to a stopped container, start it first\n" {
		t.Fatalf("stopped: exit %d err %q", r.code, r.err)
	}
	r = runIn(t, s, nil, "attach", "nope")
	if r.code != 1 || r.err != "Error response from daemon: No such container: nope\n" {
		t.Fatalf("missing: exit %d err %q", r.code, r.err)
	}
	r = runIn(t, s, strings.NewReader(""), "container", "attach", "--no-stdin", "web")
	if r.code != 4 || r.out != "hello\n" {
		t.Fatalf("exit %d out %q err %q", r.code, r.out, r.err)
	}
}

func TestExec(t *testing.T) {
	ran := make(chan []string, 1)
	s := clitest.Start(t, withPrograms(nil, func(p *clitest.Proc) int {
		if p.Cmd[0] == "bg" {
			ran <- p.Cmd
			return 0
		}
		b, _ := io.ReadAll(p.Stdin)
		fmt.Fprintf(p.Stdout, "%s %q\n", strings.Join(p.Cmd, " "), b)
		fmt.Fprintln(p.Stderr, "to stderr")
		return 7
	}))
	r := runIn(t, s, strings.NewReader("x"), "exec", "-i", "-e", "A=1", "-u", "1", "-w", "/tmp", "web", "cat", "-n")
	if r.code != 7 || r.out != "cat -n \"x\"\n" || r.err != "to stderr\n" {
		t.Fatalf("exit %d out %q err %q", r.code, r.out, r.err)
	}
	// Without -i stdin is not sent.
	r = runIn(t, s, strings.NewReader("x"), "container", "exec", "web", "cat")
	if r.code != 7 || r.out != "cat \"\"\n" {
		t.Fatalf("exit %d out %q err %q", r.code, r.out, r.err)
	}
	r = runIn(t, s, nil, "exec", "-d", "web", "bg", "job")
	if r.code != 0 || r.out != "" {
		t.Fatalf("detached: exit %d out %q err %q", r.code, r.out, r.err)
	}
	select {
	case cmd := <-ran:
		if strings.Join(cmd, " ") != "bg job" {
			t.Fatalf("detached exec ran %q", cmd)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("detached exec did not run")
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"exec", "nope", "true"}, "Error response from daemon: No such container: nope\n"},
		{[]string{"exec", "job", "true"}, "Error response from daemon: container job is not running\n"},
		{[]string{"exec", "-it", "web", "sh"}, "the input device is not a TTY\n"},
	} {
		r := runIn(t, s, strings.NewReader(""), c.args...)
		if r.code != 1 || r.err != c.err {
			t.Errorf("%v: exit %d err %q, want %q", c.args, r.code, r.err, c.err)
		}
	}
}

func TestPauseUnpauseUpdate(t *testing.T) {
	d := withPrograms(nil, nil)
	d.UpdateWarnings = []string{"Your kernel does not support swap limit capabilities."}
	s := clitest.Start(t, d)
	for _, verb := range []string{"pause", "unpause"} {
		r := runIn(t, s, nil, verb, "web", "nope")
		if r.code != 1 || r.out != "web\n" || r.err != "Error response from daemon: No such container: nope\n" {
			t.Fatalf("%s: exit %d out %q err %q", verb, r.code, r.out, r.err)
		}
	}
	r := runIn(t, s, nil, "update", "--cpus", "1.5", "-m", "64m", "--memory-swap", "-1", "--pids-limit", "20", "--restart", "on-failure:2", "web")
	if r.code != 0 {
		t.Fatalf("update: exit %d err %q", r.code, r.err)
	}
	clitest.Golden(t, "update.golden", r.out)
	r = runIn(t, s, nil, "update", "web")
	if r.code != 1 || r.err != "you must provide one or more flags when using this command\n" {
		t.Fatalf("update without flags: exit %d err %q", r.code, r.err)
	}
	var paths []string
	for _, q := range s.Requests() {
		if q.Method == "POST" {
			paths = append(paths, q.Path)
		}
	}
	want := "/containers/web/pause /containers/nope/pause /containers/web/unpause /containers/nope/unpause /containers/web/update"
	if strings.Join(paths, " ") != want {
		t.Fatalf("requests %v", paths)
	}
}

// A container that ignores the forwarded signals does not hold berth: the
// third SIGINT ends it as docker's does.
func TestRunSigProxyGivesUp(t *testing.T) {
	ready := make(chan struct{})
	s := clitest.Start(t, withPrograms(func(p *clitest.Proc) int {
		close(ready)
		io.Copy(io.Discard, p.Stdin) // until berth goes away
		return 0
	}, nil))
	go func() {
		<-ready
		for i := 0; i < 3; i++ {
			syscall.Kill(syscall.Getpid(), syscall.SIGINT)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	in, w := io.Pipe()
	defer w.Close()
	r := runIn(t, s, in, "run", "-i", "busybox", "sleep", "9")
	if r.code != 1 || r.err != "\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n" {
		t.Fatalf("exit %d err %q", r.code, r.err)
	}
	var kills []string
	for _, q := range s.Requests() {
		if strings.HasSuffix(q.Path, "/kill") {
			kills = append(kills, q.Query["signal"][0])
		}
	}
	if strings.Join(kills, " ") != "INT INT" {
		t.Fatalf("kill requests %v", kills)
	}
}

package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var initBuild struct {
	sync.Once
	out []byte
	err error
}

// buildInit compiles cmd/berth-init beside the berthd under test, where
// berthd looks for it, with the Makefile's flags, unless one is there
// already ($BERTHD from make). It skips the test when there is no C
// compiler.
func buildInit(t *testing.T, d *daemon) {
	t.Helper()
	dst := filepath.Join(filepath.Dir(d.bin), "berth-init")
	if _, err := os.Stat(dst); err == nil {
		return
	}
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler (cc) to build berth-init")
	}
	initBuild.Do(func() {
		src, err := filepath.Abs(filepath.Join("..", "..", "cmd", "berth-init", "berth-init.c"))
		if err != nil {
			initBuild.err = err
			return
		}
		initBuild.out, initBuild.err = exec.Command("cc", "-static", "-O2", "-Wall", "-Wextra", "-Werror",
			`-DBERTH_INIT_COMMIT="test"`, "-o", dst, src).CombinedOutput()
	})
	if initBuild.err != nil {
		t.Fatalf("building berth-init: %v\n%s", initBuild.err, initBuild.out)
	}
}

// initDaemon is containerDaemon with berth-init beside berthd, started
// with extra flags.
func initDaemon(t *testing.T, flags ...string) *daemon {
	t.Helper()
	d := containerDaemon(t)
	buildInit(t, d)
	if len(flags) > 0 {
		if err := d.stop(); err != nil {
			t.Fatal(err)
		}
		d.start(flags...)
	}
	return d
}

// zombiesIn lists the processes in zombie state in the pid namespace of
// the process pid, read from the host's /proc (a zombie has left its
// cgroup, so `docker top` cannot show it), and counts all of them.
func zombiesIn(t *testing.T, pid string) (zombies []string, all int) {
	t.Helper()
	ns, err := os.Readlink("/proc/" + pid + "/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		if other, err := os.Readlink(dir + "/ns/pid"); err != nil || other != ns {
			continue
		}
		stat, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue
		}
		all++
		// pid (comm) state ...: comm may hold spaces, the state follows
		// the last ')'.
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i > 0 && strings.HasPrefix(s[i+1:], " Z") {
			zombies = append(zombies, strings.TrimSpace(s[:i+1]))
		}
	}
	return zombies, all
}

var runSeq struct {
	sync.Mutex
	n int
}

// runLogged runs a container detached, waits for it and returns its log
// and exit status, then removes it. Unlike an attached `docker run` it
// does not depend on the attach racing a short-lived process.
func (d *daemon) runLogged(args ...string) (string, int) {
	d.t.Helper()
	runSeq.Lock()
	runSeq.n++
	name := fmt.Sprintf("logged%d", runSeq.n)
	runSeq.Unlock()
	d.mustDocker(append([]string{"run", "-d", "--name", name}, args...)...)
	code, err := strconv.Atoi(d.mustDocker("wait", name))
	if err != nil {
		d.t.Fatalf("docker wait %s: %v", name, err)
	}
	out := d.mustDocker("logs", name)
	d.mustDocker("rm", name)
	return out, code
}

func TestInitIsPID1(t *testing.T) {
	d := initDaemon(t)
	out := d.mustDocker("run", "--rm", "--init", "busybox", "ps", "-o", "pid,args")
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || strings.Fields(lines[1])[0] != "1" || !strings.HasSuffix(lines[1], "/sbin/docker-init -- ps -o pid,args") {
		t.Fatalf("ps under --init:\n%s", out)
	}
	// Without --init the command itself is PID 1.
	out, _ = d.runLogged("busybox", "ps", "-o", "pid,args")
	if lines := strings.Split(out, "\n"); len(lines) != 2 || !strings.HasSuffix(lines[1], "ps -o pid,args") || strings.Fields(lines[1])[0] != "1" {
		t.Fatalf("ps without --init:\n%s", out)
	}
	// The binary is mounted read-only.
	if out, err := d.docker("run", "--rm", "--init", "busybox", "sh", "-c", "echo x > /sbin/docker-init"); err == nil {
		t.Fatalf("writing /sbin/docker-init succeeded: %s", out)
	}
	// The commit is what the binary's --version says ("test" when built
	// here).
	if out := d.mustDocker("info", "--format", "{{.InitBinary}} {{.InitCommit.ID}}"); !strings.HasPrefix(out, "berth-init ") || strings.HasSuffix(out, " N/A") {
		t.Fatalf("info: %q", out)
	}
	if _, err := d.docker("run", "--rm", "--init", "busybox", "sh", "-c", "exit 3"); exitCode(err) != 3 {
		t.Fatalf("exit status through the init: %v", err)
	}
}

// TestInitReapsZombies: an orphan of the command is reparented to PID 1;
// without an init, a PID 1 that never waits (sleep) leaves it a zombie,
// with one it is reaped.
func TestInitReapsZombies(t *testing.T) {
	d := initDaemon(t)
	// The orphans outlive the shell's exec of sleep by far, so that the
	// shell cannot have reaped them itself.
	script := `sh -c "sleep 0.5 &"; sh -c "sleep 0.5 &"; exec sleep 100`
	d.mustDocker("run", "-d", "--name", "noinit", "busybox", "sh", "-c", script)
	d.mustDocker("run", "-d", "--name", "withinit", "--init", "busybox", "sh", "-c", script)
	pidOf := func(name string) string { return d.mustDocker("inspect", "-f", "{{.State.Pid}}", name) }
	eventually(t, func() error {
		if z, _ := zombiesIn(t, pidOf("noinit")); len(z) != 2 {
			return fmt.Errorf("without --init: zombies %v, want the 2 orphans", z)
		}
		return nil
	})
	// With the init: once the orphans have exited, only the init and
	// sleep are left, and never a zombie for long.
	eventually(t, func() error {
		if z, all := zombiesIn(t, pidOf("withinit")); len(z) != 0 || all != 2 {
			return fmt.Errorf("with --init: zombies %v among %d processes, want none among 2", z, all)
		}
		return nil
	})
	d.mustDocker("rm", "-f", "noinit", "withinit")
}

// TestInitForwardsSIGTERM: `docker stop` of sleep as PID 1 waits out the
// grace period (the kernel drops SIGTERM for a namespace init without a
// handler) and kills; under --init SIGTERM reaches sleep at once.
func TestInitForwardsSIGTERM(t *testing.T) {
	d := initDaemon(t)
	d.mustDocker("run", "-d", "--name", "stopme", "--init", "busybox", "sleep", "100")
	start := time.Now()
	d.mustDocker("stop", "-t", "10", "stopme")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("docker stop took %v: SIGTERM was not forwarded", took)
	}
	if out := d.mustDocker("inspect", "-f", "{{.State.ExitCode}}", "stopme"); out != "143" {
		t.Fatalf("exit code after stop: %s, want 143 (128+SIGTERM)", out)
	}
	d.mustDocker("rm", "stopme")
}

// TestInitDaemonDefault: berthd --init (daemon.json "init": true) runs
// every container with the init unless its HostConfig says --init=false.
func TestInitDaemonDefault(t *testing.T) {
	d := initDaemon(t, "--init")
	if out, _ := d.runLogged("busybox", "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "/sbin/docker-init\x00--\x00cat") {
		t.Fatalf("pid 1 with the daemon's init: %q", out)
	}
	if out, _ := d.runLogged("--init=false", "busybox", "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "cat\x00") {
		t.Fatalf("pid 1 with --init=false: %q", out)
	}
}

// TestInitForwardsSignals: a signal sent to the container (to PID 1, the
// init) reaches the command, which handles it.
func TestInitForwardsSignals(t *testing.T) {
	d := initDaemon(t)
	d.mustDocker("run", "-d", "--name", "trapper", "--init", "busybox", "sh", "-c",
		`trap "echo got USR1" USR1; trap "echo got SEGV" SEGV; trap "echo got HUP; exit 7" HUP; echo ready; while true; do sleep 0.05; done`)
	eventually(t, func() error {
		if out, _ := d.docker("logs", "trapper"); out != "ready" {
			return fmt.Errorf("logs before the signals: %q", out)
		}
		return nil
	})
	d.mustDocker("kill", "-s", "USR1", "trapper")
	eventually(t, func() error {
		if out, _ := d.docker("logs", "trapper"); out != "ready\ngot USR1" {
			return fmt.Errorf("logs after USR1: %q", out)
		}
		return nil
	})
	// A fault signal sent with kill is forwarded too.
	d.mustDocker("kill", "-s", "SEGV", "trapper")
	eventually(t, func() error {
		if out, _ := d.docker("logs", "trapper"); out != "ready\ngot USR1\ngot SEGV" {
			return fmt.Errorf("logs after SEGV: %q", out)
		}
		return nil
	})
	d.mustDocker("kill", "-s", "HUP", "trapper")
	if out := d.mustDocker("wait", "trapper"); out != "7" {
		t.Fatalf("exit status after HUP: %s, want the command's 7", out)
	}
	d.mustDocker("rm", "trapper")
}

// TestInitPath: --init-path picks the binary; one that does not exist
// makes --init a 400 at create rather than a failed start.
func TestInitPath(t *testing.T) {
	d := initDaemon(t)
	own := filepath.Join(d.dir, "my-init")
	data, err := os.ReadFile(filepath.Join(filepath.Dir(d.bin), "berth-init"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	d.start("--init-path", own)
	if out := d.mustDocker("info", "--format", "{{.InitBinary}}"); out != own {
		t.Fatalf("info InitBinary %q, want %s", out, own)
	}
	if out, _ := d.runLogged("--init", "busybox", "ps", "-o", "pid,args"); !strings.Contains(out, "1 /sbin/docker-init -- ps") {
		t.Fatalf("ps with --init-path:\n%s", out)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	d.start("--init-path", filepath.Join(d.dir, "missing-init"))
	out, err := d.docker("run", "--rm", "--init", "busybox", "true")
	if exitCode(err) != 125 || !strings.Contains(out, "the daemon has no init binary") {
		t.Fatalf("--init with a missing init-path: %v %s", err, out)
	}
	if out := d.mustDocker("ps", "-aq"); out != "" {
		t.Fatalf("the refused create left %q", out)
	}
}

package daemon

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	shimOnce sync.Once
	shimErr  error
	shimOut  []byte
)

// containerDaemon starts a berthd with a busybox image and berth-shim, and
// at the end removes every container it still has.
func containerDaemon(t *testing.T) *daemon {
	t.Helper()
	d := containerDaemonNoStart(t)
	d.start()
	t.Cleanup(func() {
		select {
		case <-d.exited:
			// A test that failed with berthd down: a new one reattaches
			// to the shims so that their containers can be removed.
			d.start()
		default:
		}
		out, _ := d.docker("ps", "-aq")
		for _, id := range strings.Fields(out) {
			if o, err := d.docker("rm", "-f", id); err != nil {
				t.Errorf("cleanup rm -f %s: %v\n%s", id, err, o)
			}
		}
		d.stop()
		if left, _ := os.ReadDir(filepath.Join(d.ExecRoot, "shims")); len(left) > 0 {
			t.Errorf("shim directories left: %v", left)
		}
	})
	return d
}

func (d *daemon) mustDocker(args ...string) string {
	d.t.Helper()
	out, err := d.docker(args...)
	if err != nil {
		d.t.Fatalf("docker %s: %v\n%s\nberthd:\n%s", strings.Join(args, " "), err, out, d.stderr)
	}
	return out
}

// eventually retries f until it returns nil or 10 s pass.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestContainerLifecycleDockerCLI(t *testing.T) {
	d := containerDaemon(t)

	id := lastLine(d.mustDocker("run", "-d", "--name", "c1", "busybox", "sh", "-c", "echo out; echo err >&2; sleep 100"))
	if len(id) != 64 {
		t.Fatalf("docker run -d printed %q, want a 64-hex ID", id)
	}
	if out := d.mustDocker("ps", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, "c1 Up ") {
		t.Fatalf("docker ps: %q", out)
	}
	eventually(t, func() error {
		cmd := exec.Command("docker", "logs", "c1")
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock, "DOCKER_CONFIG="+filepath.Join(d.dir, "docker-config"))
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("docker logs: %v (%s)", err, stderr.String())
		}
		if stdout.String() != "out\n" || stderr.String() != "err\n" {
			return fmt.Errorf("docker logs: stdout %q, stderr %q; want \"out\\n\", \"err\\n\"", stdout.String(), stderr.String())
		}
		return nil
	})
	out := d.mustDocker("inspect", "-f", "{{.State.Running}} {{.State.Pid}}", "c1")
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != "true" {
		t.Fatalf("inspect: %q", out)
	}
	pid, _ := strconv.Atoi(f[1])
	if pid <= 0 {
		t.Fatalf("inspect pid: %q", out)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		t.Fatalf("container pid %d not alive: %v", pid, err)
	}

	// Removing a running container without force is docker's 409.
	out, err := d.docker("rm", "c1")
	if err == nil || !strings.Contains(out, `cannot remove container "/c1": container is running: stop the container before removing or force remove`) {
		t.Fatalf("docker rm of a running container: %v\n%s", err, out)
	}
	if code := exitCode(err); code != 1 {
		t.Fatalf("docker rm of a running container exited %d, want 1", code)
	}

	start := time.Now()
	if out := d.mustDocker("stop", "-t", "1", "c1"); out != "c1" {
		t.Fatalf("docker stop: %q", out)
	}
	// sh ignores SIGTERM as PID 1, so the stop falls back to SIGKILL.
	if took := time.Since(start); took > 8*time.Second {
		t.Fatalf("docker stop -t 1 took %v", took)
	}
	if out := d.mustDocker("wait", "c1"); out != "137" {
		t.Fatalf("docker wait: %q, want 137", out)
	}
	if out := d.mustDocker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}", "c1"); out != "exited 137 false" {
		t.Fatalf("inspect after stop: %q", out)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Fatalf("container pid %d still alive after stop", pid)
	}
	if out := d.mustDocker("ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, "c1 Exited (137) ") {
		t.Fatalf("docker ps -a: %q", out)
	}
	if out := d.mustDocker("ps", "-q"); out != "" {
		t.Fatalf("docker ps lists a stopped container: %q", out)
	}
	// Restart the stopped container: it runs again with the same log.
	d.mustDocker("start", "c1")
	if out := d.mustDocker("inspect", "-f", "{{.State.Running}}", "c1"); out != "true" {
		t.Fatalf("inspect after start: %q", out)
	}
	d.mustDocker("rm", "-f", "c1")
	if out, err := d.docker("inspect", "c1"); err == nil || !strings.Contains(out, "No such object: c1") && !strings.Contains(out, "No such container: c1") {
		t.Fatalf("inspect after rm: %v\n%s", err, out)
	}
	assertNoLeftovers(t, d, id)
}

func TestContainerExitCodeAndLogs(t *testing.T) {
	d := containerDaemon(t)
	// Without attach, docker run --rm busybox echo hi is run -d + wait + logs.
	d.mustDocker("run", "-d", "--name", "e1", "busybox", "sh", "-c", "echo hi; exit 3")
	if out := d.mustDocker("wait", "e1"); out != "3" {
		t.Fatalf("docker wait: %q, want 3", out)
	}
	if out := d.mustDocker("logs", "e1"); out != "hi" {
		t.Fatalf("docker logs: %q", out)
	}
	if out := d.mustDocker("logs", "--tail", "0", "e1"); out != "" {
		t.Fatalf("docker logs --tail 0: %q", out)
	}
	if out := d.mustDocker("logs", "-t", "e1"); !strings.HasSuffix(out, "Z hi") {
		t.Fatalf("docker logs -t: %q", out)
	}
	id := d.mustDocker("inspect", "-f", "{{.Id}}", "e1")
	d.mustDocker("rm", "e1")
	assertNoLeftovers(t, d, id)

	// AutoRemove: the container is gone once it exits.
	id = lastLine(d.mustDocker("run", "-d", "--rm", "busybox", "true"))
	eventually(t, func() error {
		if out, err := d.docker("ps", "-aq", "--no-trunc"); err != nil || strings.Contains(out, id) {
			return fmt.Errorf("--rm container still listed: %v %q", err, out)
		}
		return nil
	})
	assertNoLeftovers(t, d, id)
}

func TestContainerRunAttached(t *testing.T) {
	d := containerDaemon(t)
	if out := d.mustDocker("run", "--rm", "busybox", "echo", "hi"); out != "hi" {
		t.Fatalf("docker run --rm busybox echo hi: %q", out)
	}
	if out := d.mustDocker("ps", "-aq"); out != "" {
		t.Fatalf("--rm container left: %q", out)
	}
	out, err := d.docker("run", "--name", "att", "busybox", "sh", "-c", "echo a; echo b >&2; exit 7")
	if code := exitCode(err); code != 7 || out != "a\nb" && out != "b\na" {
		t.Fatalf("docker run exit 7: code %d, output %q", code, out)
	}
	// A second start attached shows only the new run's output.
	out, err = d.docker("start", "-a", "att")
	if code := exitCode(err); code != 7 || strings.Count(out, "a") != 1 {
		t.Fatalf("docker start -a: code %d, output %q", code, out)
	}
	d.mustDocker("rm", "att")

	// A --rm container whose command cannot start is removed at once, and
	// the CLI (which waits for that removal) returns docker's 127.
	done := make(chan error, 1)
	go func() {
		_, err := d.docker("run", "--rm", "busybox", "nosuchcommand")
		done <- err
	}()
	select {
	case err := <-done:
		if code := exitCode(err); code != 127 {
			t.Fatalf("docker run --rm of a missing command: exit %d (%v), want 127", code, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("docker run --rm of a missing command hangs")
	}
	if out := d.mustDocker("ps", "-aq"); out != "" {
		t.Fatalf("--rm container left after a failed start: %q", out)
	}
}

func TestContainerMemoryLimit(t *testing.T) {
	d := containerDaemon(t)
	id := lastLine(d.mustDocker("run", "-d", "--memory", "64m", "busybox", "sleep", "100"))
	pid := d.mustDocker("inspect", "-f", "{{.State.Pid}}", id)
	cg, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var memPath string
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && strings.Contains(","+parts[1]+",", ",memory,") {
			memPath = parts[2]
		}
	}
	if memPath == "" {
		t.Skipf("no cgroup v1 memory controller for the container:\n%s", cg)
	}
	limit, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", memPath, "memory.limit_in_bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(limit)); got != strconv.Itoa(64<<20) {
		t.Fatalf("memory.limit_in_bytes = %s, want %d", got, 64<<20)
	}
	d.mustDocker("rm", "-f", id)
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", memPath)); err == nil {
		t.Fatalf("cgroup %s left after rm -f", memPath)
	}
	assertNoLeftovers(t, d, id)
}

func TestContainerErrorsDockerCLI(t *testing.T) {
	d := containerDaemon(t)
	out, err := d.docker("start", "nope")
	if err == nil || !strings.Contains(out, "No such container: nope") {
		t.Fatalf("docker start nope: %v\n%s", err, out)
	}
	// The daemon's 404 "No such image" makes the CLI try a pull: from a
	// loopback port nothing listens on, so nothing leaves the machine.
	out, err = d.docker("create", "--name", "x1", "127.0.0.1:1/nosuchimage")
	if err == nil || !strings.Contains(out, "Unable to find image '127.0.0.1:1/nosuchimage:latest' locally") || !strings.Contains(out, "connection refused") {
		t.Fatalf("docker create of a missing image: %v\n%s", err, out)
	}
	d.mustDocker("create", "--name", "dup", "busybox", "true")
	out, err = d.docker("create", "--name", "dup", "busybox", "true")
	if err == nil || !strings.Contains(out, `Conflict. The container name "/dup" is already in use`) {
		t.Fatalf("docker create with a taken name: %v\n%s", err, out)
	}
	out, err = d.docker("create", "--memory", "-5", "busybox", "true")
	if err == nil {
		t.Fatalf("docker create --memory -5 succeeded: %s", out)
	}
	out, err = d.docker("stop", "dup") // created, never started: 304, not an error
	if err != nil || out != "dup" {
		t.Fatalf("docker stop of a created container: %v\n%s", err, out)
	}
	d.mustDocker("rm", "dup")
}

// lastLine drops the create warnings docker prints before the ID.
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	return lines[len(lines)-1]
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// assertNoLeftovers checks that a removed container left no mount, shim,
// bundle or record behind.
func assertNoLeftovers(t *testing.T, d *daemon, id string) {
	t.Helper()
	for _, p := range []string{
		filepath.Join(d.ExecRoot, "containers", id),
		filepath.Join(d.DataRoot, "containers", id),
	} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	// After an AutoRemove the shim's release may still be finishing (it
	// is not on the path of the removal): give it a moment.
	eventually(t, func() error {
		if _, err := os.Stat(filepath.Join(d.ExecRoot, "shims", id)); err == nil {
			return fmt.Errorf("shim directory of %s left behind", id)
		}
		return nil
	})
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), id) {
		t.Errorf("a mount of container %s is left", id)
	}
}

func TestContainerRestartRenameFollow(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "-d", "--name", "r1", "busybox", "sh", "-c", "echo tick; trap 'exit 0' TERM; while true; do sleep 0.1; done")
	pid1 := d.mustDocker("inspect", "-f", "{{.State.Pid}}", "r1")
	d.mustDocker("restart", "-t", "5", "r1")
	out := d.mustDocker("inspect", "-f", "{{.State.Running}} {{.State.Pid}}", "r1")
	if !strings.HasPrefix(out, "true ") || strings.HasSuffix(out, " "+pid1) {
		t.Fatalf("inspect after restart: %q (old pid %s)", out, pid1)
	}
	d.mustDocker("rename", "r1", "r2")
	if out := d.mustDocker("ps", "--format", "{{.Names}}"); out != "r2" {
		t.Fatalf("ps after rename: %q", out)
	}
	if out := d.mustDocker("ps"); !strings.Contains(out, "CONTAINER ID") || !strings.Contains(out, "r2") {
		t.Fatalf("docker ps table: %q", out)
	}
	// logs -f returns once the container stops, with every line.
	done := make(chan string, 1)
	go func() {
		out, _ := d.docker("logs", "-f", "r2")
		done <- out
	}()
	time.Sleep(300 * time.Millisecond)
	d.mustDocker("stop", "r2") // the trap exits 0 on SIGTERM
	select {
	case out := <-done:
		if out != "tick\ntick" {
			t.Fatalf("logs -f: %q", out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logs -f did not return after the container stopped")
	}
	if out := d.mustDocker("inspect", "-f", "{{.State.ExitCode}}", "r2"); out != "0" {
		t.Fatalf("exit code after a trapped SIGTERM: %q", out)
	}
	d.mustDocker("rm", "r2")
}

// TestContainersSurviveDaemonKill: after kill -9 of berthd the containers
// keep running and logging; a new berthd reattaches to their shims, and
// stop, wait and logs work on them; a container that exited while no
// daemon ran is recorded with its exit status.
func TestContainersSurviveDaemonKill(t *testing.T) {
	d := containerDaemon(t)
	const n = 3
	for i := range n {
		d.mustDocker("run", "-d", "--name", fmt.Sprintf("k%d", i), "busybox", "sh", "-c",
			"i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); sleep 0.05; done; sleep 100")
	}
	d.mustDocker("run", "-d", "--name", "quick", "busybox", "sh", "-c", "sleep 0.5; exit 5")
	pids := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("k%d", i)
		pids[name] = d.mustDocker("inspect", "-f", "{{.State.Pid}}", name)
	}
	d.kill()
	time.Sleep(2 * time.Second) // the lines get written, "quick" exits, all with no daemon
	for name, pid := range pids {
		if _, err := os.Stat("/proc/" + pid); err != nil {
			t.Fatalf("%s (pid %s) died with berthd", name, pid)
		}
	}
	d.start()
	for name, pid := range pids {
		if out := d.mustDocker("inspect", "-f", "{{.State.Running}} {{.State.Pid}}", name); out != "true "+pid {
			t.Fatalf("%s after restart: %q, want running with pid %s", name, out, pid)
		}
		logs := d.mustDocker("logs", name)
		if lines := strings.Split(logs, "\n"); len(lines) != 30 || lines[29] != "line29" {
			t.Fatalf("%s logs after restart: %d lines\n%s", name, len(lines), logs)
		}
	}
	if out := d.mustDocker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "quick"); out != "exited 5" {
		t.Fatalf("quick after restart: %q", out)
	}
	d.mustDocker("stop", "-t", "1", "k0")
	if out := d.mustDocker("wait", "k0"); out != "137" {
		t.Fatalf("wait k0: %q", out)
	}
	d.mustDocker("kill", "k1")
	if out := d.mustDocker("inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", "k1"); out != "false 137" {
		t.Fatalf("k1 after kill: %q", out)
	}
	d.mustDocker("rm", "-f", "k0", "k1", "k2", "quick")
	if out := d.mustDocker("ps", "-aq"); out != "" {
		t.Fatalf("containers left: %q", out)
	}
}

func TestContainerBadRequests(t *testing.T) {
	d := containerDaemon(t)
	post := func(path, body string) (int, string) {
		req, err := http.NewRequest("POST", "http://berth"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		c := d.http()
		defer c.CloseIdleConnections()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		name, path, body string
		want             int
		msg              string
	}{
		{"malformed json", "/containers/create", `{"Image":`, 400, "invalid JSON"},
		{"wrong field type", "/containers/create", `{"Image":"busybox","Cmd":"x","HostConfig":{"Memory":"lots"}}`, 400, ""},
		{"name with slash", "/containers/create?name=a/b", `{"Image":"busybox"}`, 400, "Invalid container name (a/b)"},
		{"negative memory", "/containers/create", `{"Image":"busybox","HostConfig":{"Memory":-5}}`, 400, ""},
		{"missing image", "/containers/create", `{"Image":"nope:1"}`, 404, "No such image: nope:1"},
		{"no config", "/containers/create", `{}`, 400, ""},
		{"start missing", "/containers/nope/start", ``, 404, "No such container: nope"},
		{"wait bad condition", "/containers/nope/wait?condition=soon", ``, 400, ""},
		{"kill bad signal", "/containers/nope/kill?signal=SIGNOPE", ``, 400, "Invalid signal: SIGNOPE"},
		{"stop bad timeout", "/containers/nope/stop?t=x", ``, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := post(c.path, c.body)
			if code != c.want || !strings.Contains(body, c.msg) {
				t.Fatalf("POST %s %s: %d %s, want %d %q", c.path, c.body, code, body, c.want, c.msg)
			}
		})
	}
	if out := d.mustDocker("ps", "-aq"); out != "" {
		t.Fatalf("a bad request left a container: %q", out)
	}
}

func TestContainerTopAndPrune(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "-d", "--name", "top1", "busybox", "sh", "-c", "sleep 101 & sleep 102")
	eventually(t, func() error {
		out, err := d.docker("top", "top1")
		if err != nil || !strings.Contains(out, "PID") || !strings.Contains(out, "sleep 101") || !strings.Contains(out, "sleep 102") {
			return fmt.Errorf("docker top: %v\n%s", err, out)
		}
		return nil
	})
	d.mustDocker("create", "--name", "dead1", "busybox", "true")
	d.mustDocker("run", "-d", "--name", "dead2", "--label", "keep=1", "busybox", "true")
	if out := d.mustDocker("wait", "dead2"); out != "0" {
		t.Fatalf("wait dead2: %q", out)
	}
	out := d.mustDocker("container", "prune", "-f", "--filter", "label!=keep")
	if !strings.Contains(out, "Deleted Containers:") {
		t.Fatalf("prune: %q", out)
	}
	if out := d.mustDocker("ps", "-a", "--format", "{{.Names}}"); strings.Join(strings.Fields(out), " ") != "dead2 top1" {
		t.Fatalf("after prune: %q", out)
	}
	d.mustDocker("rm", "-f", "top1", "dead2")
}

func TestContainerRestartPolicies(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "-d", "--name", "onf", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 3")
	eventually(t, func() error {
		out, err := d.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", "onf")
		if err != nil || out != "exited 3 2" {
			return fmt.Errorf("on-failure:2: %v %q, want \"exited 3 2\"", err, out)
		}
		return nil
	})
	if out := d.mustDocker("logs", "onf"); out != "run\nrun\nrun" {
		t.Fatalf("on-failure:2 logs: %q", out)
	}

	d.mustDocker("run", "-d", "--name", "alw", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 1")
	eventually(t, func() error {
		out, err := d.docker("inspect", "-f", "{{.RestartCount}}", "alw")
		if n, _ := strconv.Atoi(out); err != nil || n < 2 {
			return fmt.Errorf("always: restart count %q, %v", out, err)
		}
		return nil
	})
	d.mustDocker("stop", "-t", "1", "alw")
	out := d.mustDocker("inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.State.Restarting}}", "alw")
	if out != "exited false false" {
		t.Fatalf("always after stop: %q", out)
	}
	time.Sleep(500 * time.Millisecond)
	if out := d.mustDocker("inspect", "-f", "{{.State.Status}}", "alw"); out != "exited" {
		t.Fatalf("always restarted after a stop: %q", out)
	}

	d.mustDocker("run", "-d", "--name", "alw2", "--restart", "always", "busybox", "sh", "-c", "exit 1")
	time.Sleep(300 * time.Millisecond)
	d.mustDocker("rm", "-f", "alw2")
	if out, err := d.docker("inspect", "alw2"); err == nil {
		t.Fatalf("alw2 still there after rm -f: %s", out)
	}

	for _, c := range []struct{ args, msg string }{
		{"--restart bogus", "invalid restart policy"},
	} {
		out, err := d.docker(append(append([]string{"create"}, strings.Fields(c.args)...), "busybox", "true")...)
		if err == nil || !strings.Contains(out, c.msg) {
			t.Fatalf("create %s: %v %q", c.args, err, out)
		}
	}
	d.mustDocker("rm", "onf", "alw")
}

func TestContainerStats(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "-d", "--name", "st1", "--memory", "64m", "busybox", "sh", "-c", "sleep 100 & sleep 100")
	out := d.mustDocker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "st1")
	f := strings.Fields(out)
	if len(f) != 5 || f[0] != "st1" || f[3] != "64MiB" || f[4] != "2" {
		t.Fatalf("docker stats: %q, want \"st1 <usage> / 64MiB 2\" (busybox sh execs the last command)", out)
	}
	d.mustDocker("rm", "-f", "st1")
}

func TestContainerJoinsNamespaces(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "-d", "--name", "ns1", "busybox", "sleep", "100")
	d.mustDocker("run", "-d", "--name", "ns2", "--pid", "container:ns1", "busybox", "sleep", "100")
	if out := d.mustDocker("top", "ns2"); !strings.Contains(out, "sleep") {
		t.Fatalf("top ns2: %q", out)
	}
	pid1 := d.mustDocker("inspect", "-f", "{{.State.Pid}}", "ns1")
	pid2 := d.mustDocker("inspect", "-f", "{{.State.Pid}}", "ns2")
	l1, err1 := os.Readlink("/proc/" + pid1 + "/ns/pid")
	l2, err2 := os.Readlink("/proc/" + pid2 + "/ns/pid")
	if err1 != nil || err2 != nil || l1 != l2 {
		t.Fatalf("pid namespaces: %q %v, %q %v", l1, err1, l2, err2)
	}
	// Naming itself fails (at create: it does not exist yet) rather than hangs.
	if out, err := d.docker("create", "--name", "self1", "--ipc", "container:self1", "busybox", "true"); err == nil {
		t.Fatalf("create with its own ipc namespace succeeded: %s", out)
	}
	d.mustDocker("rm", "-f", "ns1", "ns2")
	if out := d.mustDocker("ps", "-aq"); out != "" {
		t.Fatalf("containers left: %q", out)
	}
}

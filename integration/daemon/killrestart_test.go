package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crash kills our berthd with SIGKILL, checks it died of it, waits pause
// with no daemon, and starts a new berthd on the same roots.
func (d *daemon) crash(pause time.Duration) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatal(err)
	}
	<-d.exited
	if ws, ok := d.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		d.t.Fatalf("berthd did not die of SIGKILL: %v", d.exitErr)
	}
	time.Sleep(pause)
	d.start()
}

// TestKill9Restart: 20 containers print a numbered line every ~50 ms;
// berthd is killed with SIGKILL, stays down for a second and is restarted
// on the same roots. Every container must still run with the same init
// pid, and once stopped, each one's log must hold every line number from 0
// to its last exactly once: the shims kept logging with no daemon, and
// reattaching neither lost nor repeated a line.
func TestKill9Restart(t *testing.T) {
	d := containerDaemon(t)
	const n = 20
	const script = `i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done`
	names := make([]string, n)
	pids := map[string]string{}
	for i := range n {
		names[i] = fmt.Sprintf("counter%02d", i)
		d.mustDocker("run", "-d", "--name", names[i], "busybox", "sh", "-c", script)
	}
	for _, name := range names {
		pids[name] = d.mustDocker("inspect", "-f", "{{.State.Pid}}", name)
	}
	time.Sleep(500 * time.Millisecond)
	before := logLines(t, d, names)

	d.crash(time.Second)
	during := logLines(t, d, names)

	for _, name := range names {
		out := d.mustDocker("inspect", "-f", "{{.State.Running}} {{.State.Pid}}", name)
		if out != "true "+pids[name] {
			t.Fatalf("%s after the restart: %q, want running with pid %s", name, out, pids[name])
		}
	}
	// They logged on with no daemon: a second is ~20 lines.
	for i, name := range names {
		if during[i]-before[i] < 5 {
			t.Errorf("%s logged %d lines while berthd was down (from %d to %d)", name, during[i]-before[i], before[i], during[i])
		}
	}
	// Let them log on under the new daemon before stopping them all.
	time.Sleep(500 * time.Millisecond)
	d.mustDocker(append([]string{"stop", "-t", "1"}, names...)...)

	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := d.docker("logs", name)
			if err != nil {
				errs[i] = fmt.Errorf("docker logs %s: %v\n%s", name, err, out)
				return
			}
			errs[i] = checkCounted(out)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", name, errs[i])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, name := range names {
		if out := d.mustDocker("inspect", "-f", "{{.State.Running}}", name); out != "false" {
			t.Errorf("%s still running after stop", name)
		}
	}
	d.mustDocker(append([]string{"rm"}, names...)...)
}

// logLines counts each container's log lines, reading the logs in
// parallel.
func logLines(t *testing.T, d *daemon, names []string) []int {
	t.Helper()
	n := make([]int, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := d.docker("logs", name)
			if err != nil {
				errs[i] = fmt.Errorf("docker logs %s: %v\n%s", name, err, out)
				return
			}
			n[i] = strings.Count(out, "\n") + 1
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// checkCounted checks that out is "line 0", "line 1", ... with no gap, no
// repeat and nothing else, and that it spans the daemon's downtime (at
// least 20 lines: 2 s at 50 ms a line, with room for a slow machine).
func checkCounted(out string) error {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, l := range lines {
		num, ok := strings.CutPrefix(l, "line ")
		if !ok {
			return fmt.Errorf("line %d is %q", i, l)
		}
		got, err := strconv.Atoi(num)
		if err != nil || got != i {
			return fmt.Errorf("line %d is %q: a gap or a repeat", i, l)
		}
	}
	if len(lines) < 20 {
		return fmt.Errorf("only %d lines in about 3 s", len(lines))
	}
	return nil
}

// TestRestoreAdoptsUnrecordedStart: berthd dies after a container's process
// started but before its record said so (the record still reads "created").
// The restarted daemon finds the live shim and adopts the container: same
// pid, running, and stop works on it.
func TestRestoreAdoptsUnrecordedStart(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "-d", "--name", "adopt", "busybox", "sleep", "1000")
	id := d.mustDocker("inspect", "-f", "{{.Id}}", "adopt")
	pid := d.mustDocker("inspect", "-f", "{{.State.Pid}}", "adopt")
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	// The container store's records: <data-root>/containers/containers/<id>.
	rec := filepath.Join(d.DataRoot, "containers", "containers", id, "config.v2.json")
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	st := m["State"].(map[string]any)
	st["Running"], st["Pid"], st["Status"] = false, 0, "created"
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec, data, 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	if got := d.mustDocker("inspect", "-f", "{{.State.Running}} {{.State.Pid}}", "adopt"); got != "true "+pid {
		t.Fatalf("after the restart: %q, want running with pid %s", got, pid)
	}
	d.mustDocker("stop", "-t", "1", "adopt")
	if got := d.mustDocker("inspect", "-f", "{{.State.Status}}", "adopt"); got != "exited" {
		t.Errorf("after stop: %s", got)
	}
	d.mustDocker("rm", "adopt")
}

// TestRestartSweepsOrphanLayers: a container layer whose record is gone (a
// daemon that died while an AutoRemove removal finished in the background)
// is removed at the next start; and `run --rm` leaves no layer, rootfs
// mount or bundle behind once its removal has finished.
func TestRestartSweepsOrphanLayers(t *testing.T) {
	d := containerDaemon(t)
	snaps := func() int {
		ents, err := os.ReadDir(filepath.Join(d.DataRoot, "overlay2", "snapshots"))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	base := snaps()
	for range 3 {
		if out := d.mustDocker("run", "--rm", "busybox", "echo", "gone"); out != "gone" {
			t.Fatalf("run --rm: %q", out)
		}
	}
	eventually(t, func() error {
		if n := snaps(); n != base {
			return fmt.Errorf("%d snapshots after run --rm, %d before", n, base)
		}
		if ents, _ := os.ReadDir(filepath.Join(d.ExecRoot, "containers")); len(ents) != 0 {
			return fmt.Errorf("bundles left: %d", len(ents))
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), d.ExecRoot+"/containers/") {
			return fmt.Errorf("a rootfs is still mounted")
		}
		return nil
	})

	// An image deleted right after a run --rm of it takes its layers along:
	// the container's layer, still going in the background, must not pin
	// them.
	d.mustDocker("commit", d.mustDocker("create", "busybox", "true"), "soon-gone:1")
	withImage := snaps()
	for range 3 {
		d.mustDocker("run", "--rm", "soon-gone:1", "true")
		d.mustDocker("rmi", "soon-gone:1")
		if n := snaps(); n != withImage-1 {
			t.Fatalf("%d snapshots after rmi of a just-run image, want %d: its layer stayed", n, withImage-1)
		}
		d.mustDocker("commit", d.mustDocker("ps", "-aq", "-l"), "soon-gone:1")
	}
	d.mustDocker("rmi", "soon-gone:1")
	d.mustDocker("rm", d.mustDocker("ps", "-aq", "-l"))
	if n := snaps(); n != base {
		t.Fatalf("%d snapshots after the image test, want %d", n, base)
	}

	id := d.mustDocker("create", "busybox", "true")
	if snaps() != base+1 {
		t.Fatalf("create made %d snapshots", snaps()-base)
	}
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	if err := os.RemoveAll(filepath.Join(d.DataRoot, "containers", "containers", id)); err != nil {
		t.Fatal(err)
	}
	d.start()
	if n := snaps(); n != base {
		t.Errorf("%d snapshots after the restart, want %d: the orphan layer stayed", n, base)
	}
	if out := d.mustDocker("run", "--rm", "busybox", "echo", "still fine"); out != "still fine" {
		t.Errorf("run after the sweep: %q", out)
	}
}

// TestRestoreRecordsUnrecordedRun: a daemon killed before a start's record
// landed (it is written after the start's answer), whose containers then
// ran to their end, finds them recorded "created" beside a shim that saw
// them exit: each is recorded as run and exited, with its exit code, and
// an AutoRemove one is removed.
func TestRestoreRecordsUnrecordedRun(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "-d", "--name", "ran", "busybox", "sh", "-c", "sleep 1; exit 3")
	d.mustDocker("run", "-d", "--rm", "--name", "ranrm", "busybox", "sleep", "1")
	var ids, pids []string
	for _, name := range []string{"ran", "ranrm"} {
		ids = append(ids, d.mustDocker("inspect", "-f", "{{.Id}}", name))
		pids = append(pids, d.mustDocker("inspect", "-f", "{{.State.Pid}}", name))
	}
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	for _, id := range ids {
		rec := filepath.Join(d.DataRoot, "containers", "containers", id, "config.v2.json")
		data, err := os.ReadFile(rec)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		st := m["State"].(map[string]any)
		st["Running"], st["Pid"], st["Status"] = false, 0, "created"
		if data, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rec, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Both inits end while no daemon runs; their shims stay.
	eventually(t, func() error {
		for _, pid := range pids {
			if _, err := os.Stat("/proc/" + pid); err == nil {
				return fmt.Errorf("pid %s still runs", pid)
			}
		}
		return nil
	})
	d.start()
	if got := d.mustDocker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ran"); got != "exited 3" {
		t.Errorf("after the restart: %q, want exited 3", got)
	}
	eventually(t, func() error {
		if out, err := d.docker("inspect", "ranrm"); err == nil {
			return fmt.Errorf("the AutoRemove container is still there: %s", out)
		}
		return nil
	})
	d.mustDocker("rm", "ran")
}

// TestRestoreFinishesInterruptedStart: the record says running before the
// start is asked for (it is written while the runtime starts the
// container). A daemon killed after that write, while the start is still
// pending, leaves a shim whose container is only created: the next daemon
// finishes the start. The runtime here is berth-runtime behind a script
// whose first `start` fails slowly, so that the daemon can be killed in
// that window and the shim is left with its container created.
func TestRestoreFinishesInterruptedStart(t *testing.T) {
	d := containerDaemonNoStart(t)
	rt, err := filepath.EvalSymlinks(filepath.Join(filepath.Dir(d.bin), "berth-runtime"))
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(d.dir, "started-once")
	script := filepath.Join(d.dir, "slowstart")
	body := fmt.Sprintf(`#!/bin/sh
for a; do
	if [ "$a" = start ] && [ ! -e %[1]s ]; then
		: > %[1]s
		sleep 2
		echo "first start refused" >&2
		exit 1
	fi
done
exec %[2]s "$@"
`, marker, rt)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	d.start("--add-runtime", "slowstart="+script)
	t.Cleanup(func() { _, _ = d.docker("rm", "-f", "pending") })
	d.mustDocker("create", "--name", "pending", "--runtime", "slowstart", "busybox", "sleep", "300")
	id := d.mustDocker("inspect", "-f", "{{.Id}}", "pending")
	startErr := make(chan error, 1)
	go func() { _, err := d.docker("start", "pending"); startErr <- err }()
	// The first start is pending once the script has left its marker;
	// the record was written running before that.
	eventually(t, func() error {
		if _, err := os.Stat(marker); err != nil {
			return err
		}
		return nil
	})
	rec := filepath.Join(d.DataRoot, "containers", "containers", id, "config.v2.json")
	eventually(t, func() error {
		data, err := os.ReadFile(rec)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), `"Running":true`) {
			return fmt.Errorf("record not yet running")
		}
		return nil
	})
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	<-startErr // the client's connection died with the daemon
	d.start("--add-runtime", "slowstart="+script)
	if got := d.mustDocker("inspect", "-f", "{{.State.Status}}", "pending"); got != "running" {
		t.Fatalf("after the restart: %s, want running", got)
	}
	if out := d.mustDocker("exec", "pending", "echo", "alive"); out != "alive" {
		t.Fatalf("exec in the finished start: %q", out)
	}
	d.mustDocker("rm", "-f", "pending")
}

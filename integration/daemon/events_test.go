package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	berthBinOnce sync.Once
	berthBinPath string
	berthBinErr  error
)

// berthFor builds the berth CLI once per test binary (beside berthd) and
// returns it driving d.
func berthFor(t *testing.T, d *daemon) *berthCLI {
	t.Helper()
	berthBinOnce.Do(func() {
		berthBinPath = filepath.Join(filepath.Dir(d.bin), "berth")
		if _, err := os.Stat(berthBinPath); err == nil {
			return
		}
		if out, err := exec.Command("go", "build", "-o", berthBinPath, "github.com/berth-engine/berth/cmd/berth").CombinedOutput(); err != nil {
			berthBinErr = fmt.Errorf("go build berth: %v\n%s", err, out)
		}
	})
	if berthBinErr != nil {
		t.Fatal(berthBinErr)
	}
	return &berthCLI{t: t, bin: berthBinPath, d: d}
}

// stamp is a time as the docker CLI passes --since/--until: Unix seconds
// with nanoseconds.
func stamp(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }

// TestEventsDockerCLI drives containers through their life with the docker
// CLI, then reads the events back with docker events --since/--until and
// filters, as docker's own tests do.
func TestEventsDockerCLI(t *testing.T) {
	d := containerDaemon(t)
	since := time.Now()
	if out, err := d.docker("run", "--name", "ev1", "--label", "tier=front", "busybox", "sh", "-c", "exit 3"); exitCode(err) != 3 {
		t.Fatalf("docker run exit 3: %v %s", err, out)
	}
	d.mustDocker("rm", "ev1")
	d.mustDocker("run", "-d", "--name", "ev2", "busybox", "sleep", "100")
	d.mustDocker("rename", "ev2", "ev3")
	d.mustDocker("restart", "-t", "1", "ev3")
	d.mustDocker("kill", "-s", "USR1", "ev3")
	d.mustDocker("stop", "-t", "1", "ev3")
	d.mustDocker("rm", "ev3")
	d.mustDocker("tag", "busybox", "evtag:1")
	d.mustDocker("rmi", "evtag:1")
	time.Sleep(10 * time.Millisecond)
	until := stamp(time.Now())

	evs := func(args ...string) []string {
		t.Helper()
		out := d.mustDocker(append([]string{"events", "--since", stamp(since), "--until", until}, args...)...)
		if out == "" {
			return nil
		}
		return strings.Split(out, "\n")
	}
	got := evs("--filter", "container=ev1", "--format", "{{.Action}}")
	want := []string{"create", "attach", "start", "die", "destroy"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ev1 events = %q, want %q", got, want)
	}
	// docker stop: SIGTERM (15), which sleep as pid 1 ignores, then SIGKILL.
	got = evs("--filter", "container=ev3", "--format", "{{.Action}}{{with .Actor.Attributes.signal}} {{.}}{{end}}")
	want = []string{"rename", "kill 15", "kill 9", "die", "stop", "start", "restart", "kill 10", "kill 15", "kill 9", "die", "stop", "destroy"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ev3 events = %q, want %q", got, want)
	}
	// The container filter matches the ID and the name the event carries:
	// ev2's create and start were under its old name.
	got = evs("--filter", "container=ev2", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	if len(got) != 2 || got[0] != "create ev2" || got[1] != "start ev2" {
		t.Errorf("ev2 events = %q", got)
	}
	got = evs("--filter", "event=die", "--format", "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}")
	want = []string{"ev1 3", "ev3 137", "ev3 137"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("die events = %q, want %q", got, want)
	}
	got = evs("--filter", "label=tier=front", "--filter", "event=start", "--format", "{{.Actor.Attributes.name}}")
	if strings.Join(got, ",") != "ev1" {
		t.Errorf("label filter: %q", got)
	}
	got = evs("--filter", "type=image", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	if len(got) != 2 || got[0] != "tag evtag:1" || !strings.HasPrefix(got[1], "untag sha256:") {
		t.Errorf("image events = %q", got)
	}
	got = evs("--filter", "image=busybox", "--filter", "event=create", "--format", "{{.Type}} {{.Actor.Attributes.name}}")
	if strings.Join(got, ",") != "container ev1,container ev2" {
		t.Errorf("image filter: %q", got)
	}
	// The default line: time, type, action, ID, sorted attributes.
	got = evs("--filter", "container=ev1", "--filter", "event=die")
	if len(got) != 1 || !strings.Contains(got[0], " container die ") || !strings.HasSuffix(got[0], "(execDuration=0, exitCode=3, image=busybox, name=ev1, tier=front)") {
		t.Errorf("default format: %q", got)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000000Z07:00", strings.Fields(got[0])[0]); err != nil {
		t.Errorf("default format time: %v", err)
	}
	// An until in the past returns at once; a since after it is refused.
	if out, err := d.docker("events", "--since", until, "--until", stamp(since)); err == nil || !strings.Contains(out, "cannot be after") {
		t.Errorf("since after until: %v %q", err, out)
	}
	if out, err := d.docker("events", "--until", until, "--filter", "bogus=1"); err == nil || !strings.Contains(out, "invalid filter 'bogus'") {
		t.Errorf("bad filter: %v %q", err, out)
	}
}

// TestEventsStream follows the live stream: a berth events and a docker
// events started before a container runs see its actions as they happen,
// and the stream ends at --until.
func TestEventsStream(t *testing.T) {
	d := containerDaemon(t)
	b := berthFor(t, d)

	type follower struct {
		cmd   *exec.Cmd
		lines chan string
	}
	follow := func(bin string, env []string, args ...string) *follower {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f := &follower{cmd: cmd, lines: make(chan string, 100)}
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f.lines <- sc.Text()
			}
			close(f.lines)
		}()
		t.Cleanup(func() {
			cmd.Process.Kill() // by its PID; it is ours
			cmd.Wait()
		})
		return f
	}
	env := []string{"BERTH_HOST=unix://" + d.Sock, "DOCKER_HOST=unix://" + d.Sock, "DOCKER_CONFIG=" + filepath.Join(d.dir, "docker-config")}
	until := stamp(time.Now().Add(8 * time.Second))
	fb := follow(b.bin, env, "events", "--filter", "container=live1", "--format", "{{.Action}}")
	fd := follow("docker", env, "events", "--until", until, "--filter", "type=container", "--filter", "event=start", "--filter", "event=die", "--format", "{{json .}}")
	// Both streams are subscribed once their headers came back; a ping
	// through the daemon is not enough to know that, so wait a little.
	time.Sleep(500 * time.Millisecond)
	d.mustDocker("run", "--rm", "--name", "live1", "busybox", "true")

	read := func(f *follower, n int) []string {
		t.Helper()
		var got []string
		timeout := time.After(10 * time.Second)
		for len(got) < n {
			select {
			case l, ok := <-f.lines:
				if !ok {
					return got
				}
				got = append(got, l)
			case <-timeout:
				t.Fatalf("stream: got %q, want %d lines", got, n)
			}
		}
		return got
	}
	if got := read(fb, 5); strings.Join(got, " ") != "create attach start die destroy" {
		t.Errorf("berth events = %q", got)
	}
	got := read(fd, 2)
	var actions []string
	for _, l := range got {
		var m struct {
			Status string `json:"status"`
			ID     string `json:"id"`
			From   string `json:"from"`
			Type   string
			Action string
			Actor  struct{ ID string }
			Scope  string `json:"scope"`
			Time   int64  `json:"time"`
			Nano   int64  `json:"timeNano"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("docker events json %q: %v", l, err)
		}
		if m.Type != "container" || m.Scope != "local" || m.Actor.ID == "" || m.Nano/1e9 != m.Time {
			t.Errorf("event %s", l)
		}
		actions = append(actions, m.Action)
	}
	if strings.Join(actions, " ") != "start die" {
		t.Errorf("docker events = %q", got)
	}
	// docker events ends by itself at --until.
	done := make(chan error, 1)
	go func() {
		for range fd.lines {
		}
		done <- fd.cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("docker events after --until: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("docker events did not end at --until")
	}
}

// TestEventsSurviveRestart: the recent events are journaled under the data
// root, so docker events --since replays them after berthd restarts.
func TestEventsSurviveRestart(t *testing.T) {
	d := containerDaemon(t)
	since := time.Now()
	d.mustDocker("run", "--rm", "--name", "before", "busybox", "true")
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	d.start()
	d.mustDocker("run", "--rm", "--name", "after", "busybox", "true")
	out := d.mustDocker("events", "--since", stamp(since), "--until", stamp(time.Now()), "--filter", "event=destroy", "--format", "{{.Actor.Attributes.name}}")
	if out != "before\nafter" {
		t.Errorf("destroy events across a restart: %q", out)
	}
}

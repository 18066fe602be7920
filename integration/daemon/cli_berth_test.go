package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
)

// berthCLI is the berth binary, built for one test, driving one berthd.
type berthCLI struct {
	t   *testing.T
	bin string
	d   *daemon
}

// run runs berth against the daemon with stdin from the file at stdin (if
// any) and returns its stdout, stderr and exit status.
func (b *berthCLI) run(stdin string, args ...string) (string, string, int) {
	b.t.Helper()
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), "BERTH_HOST=unix://"+b.d.Sock, "DOCKER_HOST=unix://"+b.d.Sock)
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			b.t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := exitCode(err)
	if code == -1 {
		b.t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), code
}

// must runs berth and fails the test unless it exits 0; it returns stdout
// without the trailing newline.
func (b *berthCLI) must(args ...string) string {
	b.t.Helper()
	out, errOut, code := b.run("", args...)
	if code != 0 {
		b.t.Fatalf("berth %s: exit %d\nstdout: %s\nstderr: %s\nberthd:\n%s", strings.Join(args, " "), code, out, errOut, b.d.stderr)
	}
	return strings.TrimSuffix(out, "\n")
}

// berthDaemon starts a berthd with no image and builds berth; at the end it
// removes, through berth, every container and image left.
func berthDaemon(t *testing.T) *berthCLI {
	t.Helper()
	testutil.RequiresRoot(t)
	bindir := t.TempDir()
	bin := filepath.Join(bindir, "berth")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/berth-engine/berth/cmd/berth").CombinedOutput(); err != nil {
		t.Fatalf("go build berth: %v\n%s", err, out)
	}
	d := newDaemon(t)
	short, err := os.MkdirTemp("", "bx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	d.ExecRoot = short
	buildShim(t, d)
	d.start()
	b := &berthCLI{t: t, bin: bin, d: d}
	t.Cleanup(func() {
		select {
		case <-d.exited:
			d.start()
		default:
		}
		out, _, _ := b.run("", "ps", "-aq", "--no-trunc")
		for _, id := range strings.Fields(out) {
			if o, e, code := b.run("", "rm", "-f", id); code != 0 {
				t.Errorf("cleanup rm -f %s: %d %s %s", id, code, o, e)
			}
		}
		out, _, _ = b.run("", "images", "-q", "--no-trunc")
		for _, id := range strings.Fields(out) {
			b.run("", "rmi", "-f", id)
		}
		if out, _, _ := b.run("", "images", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("images left: %q", out)
		}
		d.stop()
		if left, _ := os.ReadDir(filepath.Join(d.ExecRoot, "shims")); len(left) > 0 {
			t.Errorf("shim directories left: %v", left)
		}
	})
	return b
}

func TestBerthCLI(t *testing.T) {
	b := berthDaemon(t)
	tarPath := busyboxImageTar(t)

	out, errOut, code := b.run(tarPath, "import", "-c", `CMD ["sh"]`, "-m", "busybox from debian", "-", "busybox:latest")
	if code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("berth import: exit %d, %q %q", code, out, errOut)
	}
	imageID := strings.TrimSpace(out)
	if got := b.must("image", "inspect", "-f", "{{.Id}} {{json .Config.Cmd}}", "busybox"); got != imageID+` ["sh"]` {
		t.Fatalf("image inspect: %q", got)
	}

	// run attached: output, exit status, --rm.
	if out, errOut, code := b.run("", "run", "--rm", "busybox", "echo", "hi"); code != 0 || out != "hi\n" {
		t.Fatalf("berth run --rm busybox echo hi: exit %d, %q %q", code, out, errOut)
	}
	if got := b.must("ps", "-aq"); got != "" {
		t.Fatalf("--rm left %q", got)
	}
	out, errOut, code = b.run("", "run", "--name", "e3", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
	if code != 3 || out != "out\n" || errOut != "err\n" {
		t.Fatalf("berth run exit 3: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := b.run("", "run", "--rm", "busybox", "nosuchcommand"); code != 127 {
		t.Fatalf("berth run of a missing command: exit %d, %q", code, errOut)
	}
	if got := b.must("rm", "e3"); got != "e3" {
		t.Fatalf("berth rm e3: %q", got)
	}
	if _, errOut, code := b.run("", "run", "--memory", "lots", "busybox", "true"); code != 125 {
		t.Fatalf("berth run --memory lots: exit %d %q", code, errOut)
	}

	// a detached container through its lifecycle.
	id := b.must("run", "-d", "--name", "c1", "-e", "FOO=bar", "--label", "k=v", "--pids-limit", "64", "busybox", "sh", "-c", "echo $FOO; echo warn >&2; sleep 100")
	if len(id) != 64 {
		t.Fatalf("berth run -d printed %q", id)
	}
	if got := b.must("ps", "--format", "{{.Names}}"); got != "c1" {
		t.Fatalf("berth ps: %q", got)
	}
	eventually(t, func() error {
		out, errOut, code := b.run("", "logs", "c1")
		if code != 0 || out != "bar\n" || errOut != "warn\n" {
			return fmt.Errorf("berth logs c: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		return nil
	})
	// stdout and stderr are separate streams: each holds its own line.
	if got := b.must("logs", "-t", "c1"); !strings.HasSuffix(got, " bar") || len(got) < 20 {
		t.Fatalf("berth logs -t: %q", got)
	}
	if out, errOut, code := b.run("", "logs", "--tail", "0", "c1"); code != 0 || out != "" || errOut != "" {
		t.Fatalf("berth logs --tail 0: exit %d, %q %q", code, out, errOut)
	}
	if got := b.must("inspect", "-f", "{{.State.Running}} {{.Config.Labels.k}} {{.HostConfig.PidsLimit}}", "c1"); got != "true v 64" {
		t.Fatalf("berth inspect: %q", got)
	}
	if got := b.must("top", "c1"); !strings.Contains(got, "PID") || !strings.Contains(got, "sleep 100") {
		t.Fatalf("berth top: %q", got)
	}
	if got := b.must("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "c1"); !strings.HasPrefix(got, "c1 ") {
		t.Fatalf("berth stats: %q", got)
	}
	if got := b.must("stop", "-t", "1", "c1"); got != "c1" {
		t.Fatalf("berth stop: %q", got)
	}
	if got := b.must("wait", "c1"); got != "137" && got != "143" {
		t.Fatalf("berth wait: %q", got)
	}
	b.must("rename", "c1", "c2")
	if got := b.must("container", "inspect", "-f", "{{.Name}} {{.State.Running}}", "c2"); got != "/c2 false" {
		t.Fatalf("container inspect after rename: %q", got)
	}
	if got := b.must("rm", "c2"); got != "c2" {
		t.Fatalf("berth rm: %q", got)
	}

	// start -a, prune.
	b.must("create", "--name", "s1", "busybox", "sh", "-c", "echo again; exit 4")
	if out, _, code := b.run("", "start", "-a", "s1"); code != 4 || out != "again\n" {
		t.Fatalf("berth start -a: exit %d %q", code, out)
	}
	if got := b.must("container", "prune", "-f"); !strings.Contains(got, "Deleted Containers:") || !strings.Contains(got, "Total reclaimed space:") {
		t.Fatalf("berth container prune: %q", got)
	}

	// errors.
	if out, errOut, code := b.run("", "rm", "nope"); code != 1 || out != "" || errOut != "Error response from daemon: No such container: nope\n" {
		t.Fatalf("berth rm nope: exit %d, %q %q", code, out, errOut)
	}

	// images: tag, history, rmi.
	b.must("tag", "busybox", "mybox:1")
	if got := b.must("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(got, "busybox:latest") || !strings.Contains(got, "mybox:1") {
		t.Fatalf("berth images: %q", got)
	}
	if got := b.must("history", "--no-trunc", "-q", "mybox:1"); !strings.Contains(got, imageID) {
		t.Fatalf("berth history -q: %q", got)
	}
	if got := b.must("history", "mybox:1"); !strings.HasPrefix(got, "IMAGE") {
		t.Fatalf("berth history: %q", got)
	}
	if got := b.must("rmi", "mybox:1"); got != "Untagged: mybox:1" {
		t.Fatalf("berth rmi mybox:1: %q", got)
	}
	if got := b.must("image", "rm", "busybox"); !strings.Contains(got, "Untagged: busybox:latest") || !strings.Contains(got, "Deleted: "+imageID) {
		t.Fatalf("berth image rm busybox: %q", got)
	}
	if got := b.must("images", "-q"); got != "" {
		t.Fatalf("images left: %q", got)
	}
}

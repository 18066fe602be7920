package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// refDockerd is a private dockerd (Debian's 20.10) to check interop with.
type refDockerd struct {
	t    *testing.T
	dir  string
	sock string
	cmd  *exec.Cmd
}

// startRefDockerd starts a private dockerd with its own roots, no bridge
// and no iptables rules, and stops it (by its PID) at the end of the test;
// the test is skipped when dockerd is not installed.
func startRefDockerd(t *testing.T) *refDockerd {
	t.Helper()
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		t.Skip("dockerd not installed")
	}
	dir, err := os.MkdirTemp("", "dref")
	if err != nil {
		t.Fatal(err)
	}
	r := &refDockerd{t: t, dir: dir, sock: filepath.Join(dir, "d.sock")}
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "x"),
		"-H", "unix://"+r.sock, "--pidfile", filepath.Join(dir, "d.pid"), "--bridge", "none", "--iptables=false")
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { r.cmd.Wait(); log.Close(); close(exited) }()
	t.Cleanup(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			r.cmd.Process.Kill()
			<-exited
		}
		// dockerd unmounts its layers on a clean exit; whatever is left
		// mounted under its root keeps RemoveAll from crossing into it.
		syscall.Unmount(filepath.Join(dir, "data", "overlay2"), syscall.MNT_DETACH)
		os.RemoveAll(dir)
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := r.docker("version"); err == nil {
			return r
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log"))
	t.Fatalf("dockerd did not answer in time\n%s", b)
	return nil
}

func (r *refDockerd) docker(args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+r.sock, "DOCKER_CONFIG="+filepath.Join(r.dir, "docker-config"))
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (r *refDockerd) must(args ...string) string {
	r.t.Helper()
	out, err := r.docker(args...)
	if err != nil {
		r.t.Fatalf("dockerd: docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func mustDocker(t *testing.T, d *daemon, args ...string) string {
	t.Helper()
	out, err := d.docker(args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s\nberthd:\n%s", strings.Join(args, " "), err, out, d.stderr)
	}
	return out
}

// TestSaveLoadRoundTrip: docker save from berth and docker load back into
// berth keep the image's ID and tag, and the loaded image runs.
func TestSaveLoadRoundTrip(t *testing.T) {
	d := containerDaemon(t)
	file := filepath.Join(t.TempDir(), "busybox.tar")
	id := mustDocker(t, d, "inspect", "-f", "{{.Id}}", "busybox")
	mustDocker(t, d, "tag", "busybox", "other:2")
	mustDocker(t, d, "save", "-o", file, "busybox", "other:2")
	mustDocker(t, d, "rmi", "busybox", "other:2")
	out := mustDocker(t, d, "load", "-i", file)
	if !strings.Contains(out, "Loaded image: busybox:latest") || !strings.Contains(out, "Loaded image: other:2") {
		t.Fatalf("docker load: %q", out)
	}
	if got := mustDocker(t, d, "inspect", "-f", "{{.Id}}", "other:2"); got != id {
		t.Fatalf("loaded ID %s, saved %s", got, id)
	}
	if out := mustDocker(t, d, "run", "--rm", "other:2", "echo", "loaded"); out != "loaded" {
		t.Fatalf("run: %q", out)
	}
	// A missing image fails before any byte is written.
	if out, err := d.docker("save", "-o", file+".2", "busybox", "nope"); err == nil || !strings.Contains(out, "No such image: nope") {
		t.Fatalf("save of a missing image: %v %q", err, out)
	}
	if _, err := os.Stat(file + ".2"); err == nil {
		t.Error("a failed save left its file")
	}
	// Not an archive.
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("not a tar at all, not a tar at all"), 0o644)
	if out, err := d.docker("load", "-i", junk); err == nil {
		t.Fatalf("load of junk: %q", out)
	}
	mustDocker(t, d, "rmi", "other:2")
}

// TestSaveLoadDockerd: an image dockerd 20.10 saved loads into berth and
// runs there; one berth saved loads into dockerd and runs there.
func TestSaveLoadDockerd(t *testing.T) {
	d := containerDaemon(t)
	ref := startRefDockerd(t)
	dir := t.TempDir()

	// berth → dockerd
	fromBerth := filepath.Join(dir, "from-berth.tar")
	id := mustDocker(t, d, "inspect", "-f", "{{.Id}}", "busybox")
	mustDocker(t, d, "save", "-o", fromBerth, "busybox")
	if out := ref.must("load", "-i", fromBerth); !strings.Contains(out, "Loaded image: busybox:latest") {
		t.Fatalf("dockerd load: %q", out)
	}
	if got := ref.must("inspect", "-f", "{{.Id}}", "busybox"); got != id {
		t.Fatalf("dockerd loaded %s, berth saved %s", got, id)
	}
	// The same layers have the same size in both engines: the bytes of
	// their files and symlink targets, not of their tars.
	if got, want := mustDocker(t, d, "inspect", "-f", "{{.Size}}", "busybox"), ref.must("inspect", "-f", "{{.Size}}", "busybox"); got != want {
		t.Errorf("image size: berth %s, dockerd %s", got, want)
	}
	if out := ref.must("run", "--rm", "--network", "none", "busybox", "echo", "in dockerd"); out != "in dockerd" {
		t.Fatalf("dockerd run: %q", out)
	}

	// dockerd → berth: an image with a layer of its own over busybox.
	ref.must("run", "--name", "mk", "--network", "none", "busybox", "sh", "-c", "echo made by dockerd > /made && rm /bin/vi")
	ref.must("commit", "mk", "fromdocker:1")
	ref.must("rm", "mk")
	fromDocker := filepath.Join(dir, "from-dockerd.tar")
	ref.must("save", "-o", fromDocker, "fromdocker:1")
	want := ref.must("inspect", "-f", "{{.Id}} {{len .RootFS.Layers}}", "fromdocker:1")
	// The tag names another image in berth: it moves, in dockerd's words.
	mustDocker(t, d, "tag", "busybox", "fromdocker:1")
	wantOut := "The image fromdocker:1 already exists, renaming the old one with ID " + id + " to empty string\nLoaded image: fromdocker:1"
	if out := mustDocker(t, d, "load", "-i", fromDocker); out != wantOut {
		t.Fatalf("berth load: %q, want %q", out, wantOut)
	}
	if got := mustDocker(t, d, "inspect", "-f", "{{.Id}} {{len .RootFS.Layers}}", "fromdocker:1"); got != want {
		t.Fatalf("berth has %q, dockerd %q", got, want)
	}
	if out := mustDocker(t, d, "run", "--rm", "fromdocker:1", "sh", "-c", "cat /made; ls /bin/vi || echo no vi"); !strings.Contains(out, "made by dockerd") || !strings.Contains(out, "no vi") {
		t.Fatalf("berth run: %q", out)
	}
	mustDocker(t, d, "rmi", "fromdocker:1")
}

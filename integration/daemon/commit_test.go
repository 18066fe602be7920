package daemon

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCommit: a container that wrote a file and deleted one of its image's
// commits to an image with one more layer whose containers see both
// changes; history shows the layer, changes apply to the config.
func TestCommit(t *testing.T) {
	d := containerDaemon(t)
	baseLayers := mustDocker(t, d, "inspect", "-f", "{{len .RootFS.Layers}}", "busybox")
	mustDocker(t, d, "run", "--name", "c1", "busybox", "sh", "-c", "echo committed > /new && rm /bin/vi && mkdir -p /d/e && echo x > /d/e/f")
	id := mustDocker(t, d, "commit", "-a", "me <me@x>", "-m", "first", "-c", "ENV ADDED=yes", "-c", `CMD ["cat", "/new"]`, "c1", "committed:1")
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("commit: %q", id)
	}
	if out := mustDocker(t, d, "run", "--rm", "committed:1"); out != "committed" {
		t.Fatalf("run the new image's CMD: %q", out)
	}
	out := mustDocker(t, d, "run", "--rm", "committed:1", "sh", "-c", "cat /d/e/f; echo $ADDED; ls /bin/vi 2>&1 || echo gone")
	if !strings.Contains(out, "x\nyes") || !strings.Contains(out, "gone") {
		t.Fatalf("new image's content: %q", out)
	}
	got := mustDocker(t, d, "inspect", "-f", "{{len .RootFS.Layers}} {{.Author}} {{.Comment}}", "committed:1")
	if want := "2 me <me@x> first"; baseLayers != "1" || got != want {
		t.Fatalf("inspect: %q (busybox has %s layers), want %q", got, baseLayers, want)
	}
	// As dockerd's, the parent's row carries the parent's ID.
	base := mustDocker(t, d, "inspect", "-f", "{{.Id}}", "busybox")
	hist := mustDocker(t, d, "history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", "committed:1")
	want := id + "|sh -c echo committed > /new && rm /bin/vi && mkdir -p /d/e && echo x > /d/e/f|first\n" + base + "||"
	if !strings.HasPrefix(hist, want) {
		t.Fatalf("history:\n%s\nwant it to begin\n%s", hist, want)
	}

	// A running container, paused meanwhile (and unpaused after), and one
	// committed with --pause=false.
	mustDocker(t, d, "run", "-d", "--name", "c2", "busybox", "sh", "-c", "echo live > /live; sleep 60")
	mustDocker(t, d, "commit", "c2", "committed:2")
	if st := mustDocker(t, d, "inspect", "-f", "{{.State.Status}}", "c2"); st != "running" {
		t.Fatalf("c2 after commit: %s", st)
	}
	mustDocker(t, d, "commit", "--pause=false", "c2", "committed:3")
	if out := mustDocker(t, d, "run", "--rm", "committed:2", "cat", "/live"); out != "live" {
		t.Fatalf("committed running container: %q", out)
	}
	// A commit of a commit keeps stacking layers.
	if got := mustDocker(t, d, "inspect", "-f", "{{len .RootFS.Layers}}", "committed:2"); got != "2" {
		t.Fatalf("committed:2 layers %s", got)
	}
	if out, err := d.docker("commit", "nope"); err == nil || !strings.Contains(out, "No such container") {
		t.Fatalf("commit of a missing container: %v %q", err, out)
	}
	mustDocker(t, d, "rm", "-f", "c1", "c2")
	mustDocker(t, d, "rmi", "committed:1", "committed:2", "committed:3")
}

// TestCommitParents: an image committed from another is its child. The
// parent cannot be deleted by ID while the child exists (not even with -f);
// removing its last tag only untags it; deleting the child then takes the
// untagged parent along, as dockerd prunes parents.
func TestCommitParents(t *testing.T) {
	d := containerDaemon(t)
	mustDocker(t, d, "run", "--name", "p1", "busybox", "sh", "-c", "echo one > /one")
	mid := mustDocker(t, d, "commit", "p1", "mid:1")
	mustDocker(t, d, "run", "--name", "p2", "mid:1", "sh", "-c", "echo two > /two")
	top := mustDocker(t, d, "commit", "p2", "top:1")
	mustDocker(t, d, "rm", "p1", "p2")

	for _, args := range [][]string{{"rmi", mid}, {"rmi", "-f", mid}} {
		out, err := d.docker(args...)
		if err == nil || !strings.Contains(out, "(cannot be forced) - image has dependent child images") {
			t.Errorf("docker %v: err=%v %q", args, err, out)
		}
	}
	if out := mustDocker(t, d, "rmi", "mid:1"); out != "Untagged: mid:1" {
		t.Errorf("rmi of the parent's last tag: %q", out)
	}
	if got := mustDocker(t, d, "inspect", "-f", "{{.Id}}", mid); got != mid {
		t.Errorf("the untagged parent is gone: %q", got)
	}
	// An untagged parent is an intermediate image: listed with -a only.
	if got := mustDocker(t, d, "images", "-q", "--no-trunc"); strings.Contains(got, mid) {
		t.Errorf("docker images lists the intermediate %s:\n%s", mid, got)
	}
	if got := mustDocker(t, d, "images", "-a", "-q", "--no-trunc"); !strings.Contains(got, mid) {
		t.Errorf("docker images -a lacks the intermediate %s:\n%s", mid, got)
	}
	_, body := d.do("GET", "/images/json?all=1")
	var list []struct{ Id, ParentId string }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	for _, im := range list {
		if im.Id == top && im.ParentId != mid {
			t.Errorf("ParentId of %s: %q, want %s", top, im.ParentId, mid)
		}
	}
	out := mustDocker(t, d, "rmi", "top:1")
	for _, want := range []string{"Untagged: top:1", "Deleted: " + top, "Deleted: " + mid} {
		if !strings.Contains(out, want) {
			t.Errorf("rmi top:1 output lacks %q:\n%s", want, out)
		}
	}
	if _, err := d.docker("inspect", mid); err == nil {
		t.Errorf("the dangling parent %s survived its child's deletion", mid)
	}
	if got := mustDocker(t, d, "run", "--rm", "busybox", "echo", "ok"); got != "ok" {
		t.Errorf("the base image after the pruning: %q", got)
	}
}

package daemon

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDiffAndExport: docker diff and berth diff list a container's changes
// over its image; docker export and berth export -o write its whole
// filesystem, running or stopped.
func TestDiffAndExport(t *testing.T) {
	d := containerDaemon(t)
	b := berthFor(t, d)
	d.mustDocker("run", "-d", "--name", "df1", "busybox", "sh", "-c",
		"mkdir -p /etc/d && echo x > /etc/d/f && rm /bin/ls && echo new > /newfile && rm -rf /tmp && mkdir /tmp && touch /tmp/n && sleep 100")
	want := "C /bin\nD /bin/ls\nC /etc\nA /etc/d\nA /etc/d/f\nA /newfile\nC /tmp\nA /tmp/n"
	eventually(t, func() error {
		if out := d.mustDocker("diff", "df1"); out != want {
			return fmt.Errorf("docker diff:\n%s\nwant:\n%s", out, want)
		}
		return nil
	})
	if out := b.must("diff", "df1"); out != want {
		t.Errorf("berth diff:\n%s\nwant:\n%s", out, want)
	}
	names := func(r io.Reader) []string {
		t.Helper()
		var out []string
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatalf("export tar: %v", err)
			}
			out = append(out, strings.TrimSuffix(h.Name, "/"))
		}
	}
	check := func(what string, got []string) {
		t.Helper()
		for _, n := range []string{"bin/busybox", "bin/sh", "etc/d/f", "newfile", "tmp/n"} {
			if !slices.Contains(got, n) {
				t.Errorf("%s: %s missing from %q", what, n, got)
			}
		}
		if slices.Contains(got, "bin/ls") {
			t.Errorf("%s: deleted bin/ls exported", what)
		}
	}
	// Running: from the container's own rootfs mount.
	out := filepath.Join(t.TempDir(), "running.tar")
	d.mustDocker("export", "-o", out, "df1")
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	check("docker export (running)", names(f))
	f.Close()
	// Stopped: from a read-only mount made for the export.
	d.mustDocker("stop", "-t", "0", "df1")
	out = filepath.Join(t.TempDir(), "stopped.tar")
	b.must("export", "-o", out, "df1")
	f, err = os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	check("berth export (stopped)", names(f))
	f.Close()
	resp, body := d.do("GET", "/containers/df1/export")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("GET export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	check("GET export", names(bytes.NewReader(body)))
	// The export mount is gone: diff still sees the same layer.
	if got := d.mustDocker("diff", "df1"); got != want {
		t.Errorf("diff after export:\n%s", got)
	}
	for _, verb := range []string{"diff", "export"} {
		if o, err := d.docker(verb, "nosuch"); err == nil || !strings.Contains(o, "No such container: nosuch") {
			t.Errorf("docker %s nosuch: %v %q", verb, err, o)
		}
	}
	d.mustDocker("rm", "df1")
}

// TestSystemDfAndPrune: docker system df and berth system df count images
// and containers with their sizes; berth system prune removes stopped
// containers and dangling (with -a, unused) images.
func TestSystemDfAndPrune(t *testing.T) {
	d := containerDaemon(t)
	b := berthFor(t, d)
	d.mustDocker("run", "--name", "stopped1", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /blob")
	d.mustDocker("run", "-d", "--name", "running1", "busybox", "sleep", "100")

	lines := strings.Split(d.mustDocker("system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}"), "\n")
	want := []string{"Images|1|1|", "Containers|2|1|5kB|5kB (100%)", "Local Volumes|0|0|0B|0B", "Build Cache|0|0|0B|0B"}
	if len(lines) != 4 || !strings.HasPrefix(lines[0], want[0]) || !strings.HasSuffix(lines[0], "|0B (0%)") || lines[1] != want[1] || lines[2] != want[2] || lines[3] != want[3] {
		t.Errorf("docker system df:\n%s\nwant like %q", strings.Join(lines, "\n"), want)
	}
	if out := b.must("system", "df"); !strings.HasPrefix(out, "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\nImages          1         1") ||
		!strings.Contains(out, "\nContainers      2         1         5kB       5kB (100%)\n") {
		t.Errorf("berth system df:\n%s", out)
	}
	verbose := d.mustDocker("system", "df", "-v")
	for _, s := range []string{"Images space usage:", "busybox      latest", "Containers space usage:", "stopped1", "running1", "Local Volumes space usage:", "Build cache usage: 0B"} {
		if !strings.Contains(verbose, s) {
			t.Errorf("docker system df -v lacks %q:\n%s", s, verbose)
		}
	}
	if out := b.must("system", "df", "-v"); !strings.Contains(out, "Containers space usage:") || !strings.Contains(out, "5kB") {
		t.Errorf("berth system df -v:\n%s", out)
	}
	// The API: SizeRw and SizeRootFs of each container.
	_, body := d.do("GET", "/system/df?type=container&verbose=1")
	var du struct {
		ContainerUsage struct {
			TotalCount int64
			Items      []struct {
				Names      []string
				SizeRw     int64
				SizeRootFs int64
			}
		}
	}
	if err := json.Unmarshal(body, &du); err != nil || du.ContainerUsage.TotalCount != 2 {
		t.Fatalf("GET /system/df: %v %s", err, body)
	}
	for _, c := range du.ContainerUsage.Items {
		if c.Names[0] == "/stopped1" && (c.SizeRw != 5000 || c.SizeRootFs <= 5000) {
			t.Errorf("stopped1 sizes: %+v", c)
		}
	}

	// A dangling image: untag a second import.
	d.mustDocker("tag", "busybox", "keep:1")
	if out, _, code := b.run("", "system", "prune"); code != 1 || !strings.Contains(out, "WARNING! This will remove:\n  - all stopped containers\n  - all dangling images") {
		t.Errorf("prune without -f and no answer: %d %q", code, out)
	}
	out := b.must("system", "prune", "-f")
	if !strings.HasPrefix(out, "Deleted Containers:\n") || !strings.HasSuffix(out, "Total reclaimed space: 0B") || strings.Contains(out, "Deleted Images") {
		t.Errorf("berth system prune -f:\n%s", out)
	}
	if ps := d.mustDocker("ps", "-a", "--format", "{{.Names}}"); ps != "running1" {
		t.Errorf("after prune: %q", ps)
	}
	// -a: images no container uses go too; busybox is in use by running1.
	out = b.must("system", "prune", "-af")
	if strings.Contains(out, "Deleted Images") {
		t.Errorf("prune -a removed a used image:\n%s", out)
	}
	d.mustDocker("rm", "-f", "running1")
	out = b.must("system", "prune", "-af", "--filter", "until=1h")
	if strings.Contains(out, "Deleted Images") {
		t.Errorf("until=1h removed a newer image:\n%s", out)
	}
	out = d.mustDocker("image", "prune", "-af")
	for _, s := range []string{"untagged: busybox:latest", "untagged: keep:1", "deleted: sha256:"} {
		if !strings.Contains(out, s) {
			t.Errorf("docker image prune -af lacks %q:\n%s", s, out)
		}
	}
	if imgs := d.mustDocker("images", "-q"); imgs != "" {
		t.Errorf("images left: %q", imgs)
	}
}

// TestStatsStream: docker stats --no-stream and berth stats read a running
// container; GET stats?stream=1 sends a sample a second, each with the
// previous one's CPU reading, and ends when the container stops.
func TestStatsStream(t *testing.T) {
	d := containerDaemon(t)
	b := berthFor(t, d)
	d.mustDocker("run", "-d", "--name", "ss1", "busybox", "sh", "-c", "while :; do :; done")
	if out := d.mustDocker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "ss1"); out != "ss1 1" {
		t.Errorf("docker stats --no-stream: %q", out)
	}
	if out := b.must("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "ss1"); out != "ss1 1" {
		t.Errorf("berth stats --no-stream: %q", out)
	}

	c := d.http()
	c.Timeout = 0
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://berth/containers/ss1/stats?stream=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type sample struct {
		Read, PreRead time.Time
		CPUStats      struct {
			CPUUsage struct {
				TotalUsage uint64 `json:"total_usage"`
			} `json:"cpu_usage"`
			SystemUsage uint64 `json:"system_cpu_usage"`
		} `json:"cpu_stats"`
		PreCPUStats struct {
			CPUUsage struct {
				TotalUsage uint64 `json:"total_usage"`
			} `json:"cpu_usage"`
		} `json:"precpu_stats"`
	}
	dec := json.NewDecoder(resp.Body)
	var s1, s2 sample
	if err := dec.Decode(&s1); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&s2); err != nil {
		t.Fatal(err)
	}
	gap := s2.Read.Sub(s1.Read)
	if gap < 900*time.Millisecond || gap > 1500*time.Millisecond {
		t.Errorf("samples %v apart, want ~1s", gap)
	}
	if s1.CPUStats.CPUUsage.TotalUsage == 0 || s1.CPUStats.SystemUsage == 0 {
		t.Errorf("first sample has no CPU reading: %+v", s1)
	}
	if !s2.PreRead.Equal(s1.Read) || s2.PreCPUStats.CPUUsage.TotalUsage != s1.CPUStats.CPUUsage.TotalUsage {
		t.Errorf("second sample's precpu is not the first's cpu: %+v / %+v", s1, s2)
	}
	// A busy loop uses CPU between the samples (how much depends on what
	// else the host runs).
	if used := s2.CPUStats.CPUUsage.TotalUsage - s1.CPUStats.CPUUsage.TotalUsage; used == 0 || s2.CPUStats.SystemUsage <= s1.CPUStats.SystemUsage {
		t.Errorf("cpu used between samples: %d ns", used)
	}
	// berth stats without --no-stream redraws the table in place (cursor
	// home, each line cleared to its end, the rest cleared below) every
	// half second until it is stopped.
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	live := exec.CommandContext(ctx, b.bin, "stats", "--format", "{{.Name}}", "ss1")
	live.Env = append(os.Environ(), "BERTH_HOST=unix://"+d.Sock)
	screen, _ := live.Output() // ended by the timeout, by its PID
	if draws := strings.Count(string(screen), "\033[Hss1\033[K\n\033[J"); draws < 3 {
		t.Errorf("berth stats drew %d screens: %q", draws, screen)
	}
	// The stream ends with the container.
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
	d.mustDocker("stop", "-t", "0", "ss1")
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("stats stream did not end when the container stopped")
	}
	if resp, _ := d.do("GET", "/containers/nosuch/stats?stream=0"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("stats of a missing container: %d", resp.StatusCode)
	}
	d.mustDocker("rm", "ss1")
}

// TestSystemPruneDockerCLI: docker system prune calls the container, network,
// image and build-cache prunes in turn; each must answer for it to finish.
func TestSystemPruneDockerCLI(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "--name", "pruned", "busybox", "true")
	d.mustDocker("network", "create", "prunednet")
	d.mustDocker("run", "-d", "--name", "kept", "busybox", "sleep", "100")
	out := d.mustDocker("system", "prune", "-f")
	if !strings.Contains(out, "Total reclaimed space") {
		t.Errorf("system prune output: %q", out)
	}
	if _, err := d.docker("inspect", "pruned"); err == nil {
		t.Error("the stopped container survived system prune")
	}
	if _, err := d.docker("network", "inspect", "prunednet"); err == nil {
		t.Error("the unused network survived system prune")
	}
	if got := d.mustDocker("inspect", "-f", "{{.State.Running}}", "kept"); got != "true" {
		t.Errorf("the running container after system prune: %q", got)
	}
	if got := d.mustDocker("builder", "prune", "-f"); !strings.Contains(got, "Total") {
		t.Errorf("builder prune: %q", got)
	}
	d.mustDocker("rm", "-f", "kept")
}

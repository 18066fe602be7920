package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/testutil"
)

// busyboxImageTar writes a busybox root filesystem as a tar and returns its path.
func busyboxImageTar(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	testutil.BusyboxRootfs(t, rootfs)
	tarPath := filepath.Join(dir, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "--numeric-owner", "-cf", tarPath, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return tarPath
}

// dockerWithStdin runs the docker CLI with stdin read from the file at path.
func (d *daemon) dockerWithStdin(path string, args ...string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock, "DOCKER_CONFIG="+filepath.Join(d.dir, "docker-config"))
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestImagesDockerCLI(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	tarPath := busyboxImageTar(t)
	d := newDaemon(t)
	d.start()

	id, err := d.dockerWithStdin(tarPath, "import", "--change", `CMD ["sh"]`, "--change", "ENV FOO=bar", "-", "busybox:latest")
	if err != nil || !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
		t.Fatalf("docker import: %q, %v", id, err)
	}
	run := func(want string, args ...string) {
		t.Helper()
		out, err := d.docker(args...)
		if err != nil || out != want {
			t.Fatalf("docker %s: %q, %v; want %q", strings.Join(args, " "), out, err, want)
		}
	}
	fail := func(wantMsg string, args ...string) {
		t.Helper()
		out, err := d.docker(args...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, wantMsg) {
			t.Fatalf("docker %s: %q, %v; want exit 1 with %q", strings.Join(args, " "), out, err, wantMsg)
		}
	}

	run("busybox:latest", "images", "--format", "{{.Repository}}:{{.Tag}}")
	run(`["sh"]`, "image", "inspect", "busybox", "--format", "{{json .Config.Cmd}}")
	run(id, "image", "inspect", "docker.io/library/busybox:latest", "--format", "{{.ID}}")
	run("1", "info", "--format", "{{.Images}}")

	run("", "tag", "busybox", "mybox:1")
	run("busybox:latest mybox:1", "image", "inspect", id, "--format", `{{join .RepoTags " "}}`)
	run("mybox:1", "images", "--filter", "reference=mybox", "--format", "{{.Repository}}:{{.Tag}}")
	run("", "images", "--filter", "dangling=true", "-q")
	fail("invalid filter", "images", "--filter", "bogus=1")

	out, err := d.docker("history", "busybox")
	if err != nil || !strings.Contains(out, "Imported from -") {
		t.Fatalf("docker history: %q, %v", out, err)
	}

	run("Untagged: mybox:1", "rmi", "mybox:1")
	run("1", "info", "--format", "{{.Images}}")
	out, err = d.docker("rmi", "busybox")
	if err != nil || !strings.Contains(out, "Untagged: busybox:latest") || !strings.Contains(out, "Deleted: "+id) {
		t.Fatalf("docker rmi busybox: %q, %v", out, err)
	}
	run("0", "info", "--format", "{{.Images}}")
	run("", "images", "-q")

	fail("No such image: nope", "image", "inspect", "nope")
	fail("No such image", "rmi", "nope")
	fail("No such image", "tag", "nope", "x:1")
	// Nothing listens there: the pull fails without leaving loopback.
	fail("connection refused", "pull", "127.0.0.1:1/busybox")
	if out, err := d.dockerWithStdin(tarPath, "import", "--change", "BOGUS x", "-"); err == nil || !strings.Contains(out, "not a valid change command") {
		t.Fatalf("docker import with a bad change: %q, %v", out, err)
	}
	run("0", "info", "--format", "{{.Images}}")
}

func TestImagesGoClientAndHTTP(t *testing.T) {
	testutil.RequiresRoot(t)
	tarPath := busyboxImageTar(t)
	d := newDaemon(t)
	d.start()
	c, err := client.New(client.WithHost("unix://" + d.Sock))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := c.ImageImport(ctx, client.ImageImportSource{Source: f, SourceName: "-"}, "example.com/team/tool", client.ImageImportOptions{Tag: "v2", Changes: []string{"ENTRYPOINT /bin/sh"}})
	if err != nil {
		t.Fatal(err)
	}
	var msg struct{ Status string }
	err = json.NewDecoder(res).Decode(&msg)
	res.Close()
	if err != nil || !strings.HasPrefix(msg.Status, "sha256:") {
		t.Fatalf("import stream: %+v, %v", msg, err)
	}

	img, err := c.ImageInspect(ctx, "example.com/team/tool:v2")
	if err != nil || img.ID != msg.Status || len(img.RepoTags) != 1 || img.RepoTags[0] != "example.com/team/tool:v2" ||
		img.Config == nil || strings.Join(img.Config.Entrypoint, " ") != "/bin/sh -c /bin/sh" {
		t.Fatalf("ImageInspect: %+v, %v", img, err)
	}

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1.44/images/example.com/team/tool:v2/json", http.StatusOK},
		{"GET", "/images/example.com/team/tool:v2/history", http.StatusOK},
		{"GET", "/images/nope/json", http.StatusNotFound},
		{"GET", "/images/example.com/team/tool:v2/push", http.StatusNotFound},
		{"GET", "/images/json?filters=" + url.QueryEscape(`{"until":{"1h":true}}`), http.StatusBadRequest},
		{"GET", `/images/json?filters=nojson`, http.StatusBadRequest},
		{"POST", "/images/create?fromImage=127.0.0.1:1/busybox&tag=latest", http.StatusServiceUnavailable},
		{"POST", "/images/create?fromImage=Bad:Name", http.StatusBadRequest},
		{"POST", "/images/create?fromImage=busybox&tag=bad:tag", http.StatusBadRequest},
		{"POST", "/images/create", http.StatusBadRequest},
		{"POST", "/images/create?fromSrc=-&repo=Bad:Name", http.StatusBadRequest},
		{"POST", "/images/nope/tag?repo=x", http.StatusNotFound},
		{"POST", "/images/example.com/team/tool:v2/tag?repo=UPPER", http.StatusBadRequest},
		{"POST", "/images/example.com/team/tool:v2/tag?repo=other&tag=t", http.StatusCreated},
		{"DELETE", "/images/" + msg.Status, http.StatusConflict},
		{"DELETE", "/images/nope", http.StatusNotFound},
		{"DELETE", "/images/" + msg.Status + "?force=1", http.StatusOK},
		{"GET", "/images/example.com/team/tool:v2/json", http.StatusNotFound},
	} {
		resp, body := d.do(tc.method, tc.path)
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d %s; want %d", tc.method, tc.path, resp.StatusCode, body, tc.want)
		}
		if resp.StatusCode >= 400 && !strings.Contains(string(body), `"message"`) {
			t.Errorf("%s %s: error body %s", tc.method, tc.path, body)
		}
	}
	list, err := c.ImageList(ctx, client.ImageListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("ImageList after delete: %+v, %v", list, err)
	}
}

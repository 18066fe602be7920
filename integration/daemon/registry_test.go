package daemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-engine/berth/internal/testutil"
)

// testRegistry is Debian's docker-registry (distribution 2.8) serving
// 127.0.0.1:<port> from a temp dir, stopped by its PID at the end.
type testRegistry struct {
	Host string // 127.0.0.1:port
	dir  string
}

// startRegistry runs a registry; with user set it requires htpasswd
// (bcrypt) basic auth for that user and password.
func startRegistry(t *testing.T, user, password string) *testRegistry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed (scripts/deps.sh installs it)")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	auth := ""
	if user != "" {
		out, err := exec.Command("htpasswd", "-Bbn", user, password).Output()
		if err != nil {
			t.Fatalf("htpasswd (apache2-utils): %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), out, 0o600); err != nil {
			t.Fatal(err)
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: berth-test-secret
%s`, filepath.Join(dir, "data"), host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("docker-registry exited: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s", host)
		}
	}
	return &testRegistry{Host: host, dir: dir}
}

// TestRegistryDockerCLI pushes busybox to a registry with the docker CLI,
// removes it, pulls it back (with its progress stream) and runs it.
func TestRegistryDockerCLI(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := startRegistry(t, "", "")
	d := newDaemon(t)
	short, err := os.MkdirTemp("", "bx") // the shim's socket path must stay short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	d.ExecRoot = short
	seedBusybox(t, d)
	buildShim(t, d)
	d.start()
	ref := reg.Host + "/test/busybox:1"
	d.mustDocker("tag", "busybox", ref)
	out := d.mustDocker("push", ref)
	for _, want := range []string{"The push refers to repository [" + reg.Host + "/test/busybox]", "Pushed", "1: digest: sha256:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("push output lacks %q:\n%s", want, out)
		}
	}
	pushDigest := out[strings.Index(out, "sha256:"):][:71]
	// Again: the registry has every blob.
	if out := d.mustDocker("push", ref); !strings.Contains(out, "Layer already exists") {
		t.Fatalf("second push did not skip the layer:\n%s", out)
	}
	// Another repository of the same registry mounts the layer.
	ref2 := reg.Host + "/other/busybox:2"
	d.mustDocker("tag", ref, ref2)
	if out := d.mustDocker("push", ref2); !strings.Contains(out, "Mounted from test/busybox") {
		t.Fatalf("push to another repository did not mount the layer:\n%s", out)
	}
	d.mustDocker("rmi", ref, ref2, "busybox") // the layer goes too: the pull fetches it

	out = d.mustDocker("pull", ref)
	for _, want := range []string{"1: Pulling from test/busybox", "Pull complete", "Digest: " + pushDigest, "Status: Downloaded newer image for " + ref} {
		if !strings.Contains(out, want) {
			t.Fatalf("pull output lacks %q:\n%s", want, out)
		}
	}
	if out := d.mustDocker("pull", ref); !strings.Contains(out, "Status: Image is up to date for "+ref) {
		t.Fatalf("second pull:\n%s", out)
	}
	if got := d.mustDocker("image", "inspect", "-f", "{{json .RepoDigests}} {{.Metadata.LastTagTime.IsZero}}", ref); got != fmt.Sprintf(`["%s/test/busybox@%s"] false`, reg.Host, pushDigest) {
		t.Fatalf("RepoDigests/LastTagTime: %s", got)
	}
	if got := d.mustDocker("run", "--rm", ref, "echo", "pulled"); got != "pulled" {
		t.Fatalf("run: %q", got)
	}
	// docker run pulls what is missing.
	d.mustDocker("rmi", ref)
	if out := d.mustDocker("run", "--rm", ref, "echo", "auto"); !strings.Contains(out, "Pull complete") && !strings.Contains(out, "Already exists") || !strings.HasSuffix(out, "auto") {
		t.Fatalf("run of a missing image:\n%s", out)
	}
	// By digest.
	d.mustDocker("rmi", ref)
	out = d.mustDocker("pull", reg.Host+"/test/busybox@"+pushDigest)
	if !strings.Contains(out, "Status: Downloaded newer image for "+reg.Host+"/test/busybox@"+pushDigest) {
		t.Fatalf("pull by digest:\n%s", out)
	}

	// The digest names the image: run it, remove it by it.
	byDigest := reg.Host + "/test/busybox@" + pushDigest
	if got := d.mustDocker("run", "--rm", byDigest, "echo", "by digest"); got != "by digest" {
		t.Fatalf("run by digest: %q", got)
	}
	if out := d.mustDocker("rmi", byDigest); !strings.Contains(out, "Untagged: "+byDigest) || !strings.Contains(out, "Deleted: ") {
		t.Fatalf("rmi by digest:\n%s", out)
	}
	if out := d.mustDocker("pull", "-a", reg.Host+"/test/busybox"); !strings.Contains(out, "Status: Downloaded newer image for "+reg.Host+"/test/busybox") {
		t.Fatalf("pull -a:\n%s", out)
	}

	out, err = d.docker("pull", reg.Host+"/test/busybox:nope")
	if err == nil || !strings.Contains(out, "manifest for "+reg.Host+"/test/busybox:nope not found: manifest unknown") {
		t.Fatalf("pull of a missing tag: %v\n%s", err, out)
	}
	out, err = d.docker("pull", reg.Host+"/test/nothing:1")
	if err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("pull of a missing repository: %v\n%s", err, out)
	}
	if out := d.mustDocker("events", "--since", "0", "--until", fmt.Sprint(time.Now().Unix()+1), "--filter", "type=image", "--format", "{{.Action}} {{.Actor.Attributes.name}}"); !strings.Contains(out, "push "+ref) || !strings.Contains(out, "pull "+ref) {
		t.Fatalf("image events lack push and pull of %s:\n%s", ref, out)
	}
}

// TestRegistryAuth logs in to a registry with htpasswd auth, pushes and
// pulls with the credentials the docker CLI keeps, and is refused without.
func TestRegistryAuth(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := startRegistry(t, "berth", "s3cret")
	d := newDaemon(t)
	seedBusybox(t, d)
	d.start()
	ref := reg.Host + "/auth/busybox:1"
	d.mustDocker("tag", "busybox", ref)

	out, err := d.docker("login", "-u", "berth", "-p", "wrong", reg.Host)
	if err == nil || !strings.Contains(out, "401 Unauthorized") {
		t.Fatalf("login with a wrong password: %v\n%s", err, out)
	}
	out, err = d.docker("push", ref)
	if err == nil || !strings.Contains(strings.ToLower(out), "unauthorized") && !strings.Contains(out, "no basic auth credentials") {
		t.Fatalf("push without login: %v\n%s", err, out)
	}
	if out := d.mustDocker("login", "-u", "berth", "-p", "s3cret", reg.Host); !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("login: %s", out)
	}
	d.mustDocker("push", ref)
	d.mustDocker("rmi", ref)
	d.mustDocker("pull", ref)
	d.mustDocker("rmi", ref)
	d.mustDocker("logout", reg.Host)
	if out, err := d.docker("pull", ref); err == nil {
		t.Fatalf("pull after logout succeeded:\n%s", out)
	}
}

// TestRegistryBerthCLI logs in, pushes, pulls and runs with berth, the
// credentials kept in the docker CLI's config.json.
func TestRegistryBerthCLI(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := startRegistry(t, "berth", "s3cret")
	b := berthDaemon(t)
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	if out, errOut, code := b.run(busyboxImageTar(t), "import", "-c", `CMD ["sh"]`, "-", "busybox:latest"); code != 0 {
		t.Fatalf("berth import: exit %d, %q %q", code, out, errOut)
	}
	ref := reg.Host + "/test/busybox:1"
	b.must("tag", "busybox", ref)

	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := b.run("", "login", "-u", "berth", "-p", "wrong", reg.Host); code == 0 || !strings.Contains(errOut, "401 Unauthorized") {
		t.Fatalf("login with a wrong password: exit %d, %q", code, errOut)
	}
	if out, errOut, code := b.run(pw, "login", "-u", "berth", "--password-stdin", reg.Host); code != 0 || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("login: exit %d, %q %q", code, out, errOut)
	}
	if cfg, _ := os.ReadFile(filepath.Join(cfgDir, "config.json")); !strings.Contains(string(cfg), `"`+reg.Host+`"`) {
		t.Fatalf("config.json lacks %s:\n%s", reg.Host, cfg)
	}
	out := b.must("push", ref)
	if !strings.Contains(out, "Pushed") || !strings.Contains(out, "1: digest: sha256:") {
		t.Fatalf("berth push:\n%s", out)
	}
	b.must("rmi", ref, "busybox")
	out = b.must("pull", ref)
	if !strings.Contains(out, "Pull complete") || !strings.HasSuffix(out, "\n"+ref) {
		t.Fatalf("berth pull:\n%s", out)
	}
	if out, errOut, code := b.run("", "run", "--rm", ref, "echo", "hi"); code != 0 || out != "hi\n" {
		t.Fatalf("berth run: exit %d, %q %q", code, out, errOut)
	}
	// berth run pulls a missing image, as docker run does.
	b.must("rmi", ref)
	if out, errOut, code := b.run("", "run", "--rm", ref, "echo", "auto"); code != 0 || out != "auto\n" || !strings.Contains(errOut, "Unable to find image '"+ref+"' locally") || !strings.Contains(errOut, "Pull complete") {
		t.Fatalf("berth run of a missing image: exit %d, %q %q", code, out, errOut)
	}
	if got := b.must("pull", "-q", ref); got != ref {
		t.Fatalf("berth pull -q: %q", got)
	}
	if _, errOut, code := b.run("", "pull", reg.Host+"/test/busybox:nope"); code == 0 || !strings.Contains(errOut, "manifest unknown") {
		t.Fatalf("berth pull of a missing tag: exit %d, %q", code, errOut)
	}
	if out := b.must("logout", reg.Host); out != "Removing login credentials for "+reg.Host {
		t.Fatalf("logout: %q", out)
	}
	b.must("rmi", ref)
	if _, _, code := b.run("", "pull", ref); code == 0 {
		t.Fatal("pull after logout succeeded")
	}
}

// TestRegistryPlatform pushes an index of an amd64 and an arm64 image and
// pulls each by --platform, with the docker CLI and with berth.
func TestRegistryPlatform(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := startRegistry(t, "", "")
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref := reg.Host + "/test/multi:1"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	d := newDaemon(t)
	d.start()
	for _, arch := range []string{"arm64", "amd64"} {
		out := d.mustDocker("pull", "--platform", "linux/"+arch, ref)
		if !strings.Contains(out, "Digest: "+idxDigest.String()) {
			t.Fatalf("pull --platform linux/%s:\n%s", arch, out)
		}
		if got := d.mustDocker("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", ref); got != "linux/"+arch {
			t.Fatalf("pulled %s for linux/%s", got, arch)
		}
	}
	out, err := d.docker("pull", "--platform", "linux/s390x", ref)
	if err == nil || !strings.Contains(out, "no matching manifest for linux/s390x") {
		t.Fatalf("pull for s390x: %v\n%s", err, out)
	}
	d.mustDocker("rmi", ref)

	b := &berthCLI{t: t, bin: berthBinary(t), d: d}
	b.must("pull", "-q", "--platform", "linux/arm64", ref)
	if got := b.must("image", "inspect", "-f", "{{.Architecture}} {{json .RepoDigests}}", ref); got != fmt.Sprintf(`arm64 ["%s/test/multi@%s"]`, reg.Host, idxDigest) {
		t.Fatalf("berth pull --platform linux/arm64: %s", got)
	}
}

// berthBinary builds the berth CLI for one test.
func berthBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berth")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/berth-engine/berth/cmd/berth").CombinedOutput(); err != nil {
		t.Fatalf("go build berth: %v\n%s", err, out)
	}
	return bin
}

// slowProxy serves the registry at host through a proxy that trickles
// blobs while the returned flag is set.
func slowProxy(t *testing.T, host string) (string, *atomic.Bool) {
	t.Helper()
	target, _ := url.Parse("http://" + host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := &atomic.Bool{}
	slow.Store(true)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if slow.Load() && strings.Contains(resp.Request.URL.Path, "/blobs/") {
			resp.Body = struct {
				io.Reader
				io.Closer
			}{slowReader{resp.Body}, resp.Body}
		}
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), slow
}

// slowReader trickles a blob through.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	if len(p) > 16<<10 {
		p = p[:16<<10]
	}
	return s.r.Read(p)
}

// TestRegistryPullDisconnect: a client that goes away mid-pull cancels it,
// and the daemon's store is left as it was (no blob, no ingest file, no
// image, no extract snapshot).
func TestRegistryPullDisconnect(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := startRegistry(t, "", "")
	img, err := random.Image(4<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(reg.Host + "/test/slow:1")
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	slowHost, slow := slowProxy(t, reg.Host)

	d := newDaemon(t)
	d.start()
	snapshot := func() string {
		var out []string
		filepath.Walk(filepath.Join(d.DataRoot, "content"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() && !strings.HasSuffix(p, "index.json") {
				out = append(out, strings.TrimPrefix(p, d.DataRoot))
			}
			return nil
		})
		out = append(out, d.mustDocker("images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"))
		return strings.Join(out, "\n")
	}
	before := snapshot()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://berth/images/create?fromImage="+slowHost+"/test/slow&tag=1", nil)
	c := d.http()
	c.Timeout = 0
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// Read until a layer is downloading, then hang up.
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "Downloading") {
		n, err := resp.Body.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			t.Fatalf("stream ended before a download: %v\n%s", err, seen.String())
		}
	}
	cancel()
	resp.Body.Close()

	eventually(t, func() error {
		if after := snapshot(); after != before {
			return fmt.Errorf("store changed:\n%s\n---\n%s", before, after)
		}
		if ents, _ := os.ReadDir(filepath.Join(d.DataRoot, "content", "ingest")); len(ents) > 0 {
			return fmt.Errorf("ingest files left: %d", len(ents))
		}
		return nil
	})
	// The same pull, left alone (and fast), completes.
	slow.Store(false)
	if out := d.mustDocker("pull", slowHost+"/test/slow:1"); !strings.Contains(out, "Downloaded newer image") {
		t.Fatalf("pull after the cancelled one:\n%s", out)
	}
}

// TestRegistryPullKilled: berthd killed (SIGKILL) mid-pull opens its store
// cleanly again, with no image and no unpack left over, and the pull then
// completes.
func TestRegistryPullKilled(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := startRegistry(t, "", "")
	img, err := random.Image(2<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(reg.Host + "/test/killed:1")
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	slowHost, slow := slowProxy(t, reg.Host)
	d := newDaemon(t)
	d.start()
	cmd := exec.Command("docker", "pull", slowHost+"/test/killed:1")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock, "DOCKER_CONFIG="+filepath.Join(d.dir, "docker-config"))
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "Downloading") && !strings.Contains(seen.String(), "Pulling fs layer") {
		n, err := stdout.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			t.Fatalf("pull output ended: %v\n%s", err, seen.String())
		}
	}
	time.Sleep(200 * time.Millisecond)
	d.kill()
	cmd.Wait()
	slow.Store(false)
	d.start()
	if out := d.mustDocker("images", "-a", "-q"); out != "" {
		t.Fatalf("images after the killed pull: %q", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(d.DataRoot, "content", "ingest")); len(ents) > 0 {
		t.Fatalf("ingest files left: %d", len(ents))
	}
	if out := d.mustDocker("pull", slowHost+"/test/killed:1"); !strings.Contains(out, "Downloaded newer image") {
		t.Fatalf("pull after restart:\n%s", out)
	}
	if got := d.mustDocker("image", "inspect", "-f", "{{len .RootFS.Layers}}", slowHost+"/test/killed:1"); got != "2" {
		t.Fatalf("layers: %s", got)
	}
}

// TestRegistryDockerdInterop: an image berth pushed is pulled and run by
// dockerd 20.10, and one dockerd pushed (its own gzip layers) is pulled
// and run by berth, through the same docker-registry.
func TestRegistryDockerdInterop(t *testing.T) {
	d := containerDaemon(t)
	reg := startRegistry(t, "", "")
	ref := startRefDockerd(t)
	fromBerth := reg.Host + "/interop/from-berth:1"
	mustDocker(t, d, "tag", "busybox", fromBerth)
	mustDocker(t, d, "push", fromBerth)
	ref.must("pull", fromBerth)
	if out := ref.must("run", "--rm", "--network", "none", fromBerth, "echo", "in dockerd"); out != "in dockerd" {
		t.Fatalf("dockerd run: %q", out)
	}
	fromDocker := reg.Host + "/interop/from-docker:1"
	ref.must("tag", fromBerth, fromDocker)
	ref.must("push", fromDocker)
	ref.must("rmi", fromBerth, fromDocker)
	out := mustDocker(t, d, "pull", fromDocker)
	if !strings.Contains(out, "Downloaded newer image") {
		t.Fatalf("berth pull of dockerd's push:\n%s", out)
	}
	if out := mustDocker(t, d, "run", "--rm", fromDocker, "echo", "in berth"); out != "in berth" {
		t.Fatalf("berth run: %q", out)
	}
	// Both name the same content: the image IDs match.
	if a, b := mustDocker(t, d, "inspect", "-f", "{{.Id}}", fromBerth), mustDocker(t, d, "inspect", "-f", "{{.Id}}", fromDocker); a != b {
		t.Fatalf("image IDs differ: %s %s", a, b)
	}
	mustDocker(t, d, "rmi", fromBerth, fromDocker)
}

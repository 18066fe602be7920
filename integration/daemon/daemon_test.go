package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/testutil"
)

func TestDockerCLI(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	d := newDaemon(t)
	d.start()

	if out, err := d.docker("version", "--format", "{{.Server.APIVersion}}"); err != nil || out != client.MaxAPIVersion {
		t.Fatalf("docker version --format: %q, %v; want %s", out, err, client.MaxAPIVersion)
	}
	if out, err := d.docker("info", "--format", "{{.Driver}} {{.CgroupDriver}} {{.DockerRootDir}}"); err != nil || out != "overlay2 cgroupfs "+d.DataRoot {
		t.Fatalf("docker info --format: %q, %v", out, err)
	}
	if out, err := d.docker("version"); err != nil || !strings.Contains(out, "Server: berth") {
		t.Fatalf("docker version: %v\n%s", err, out)
	}
	if out, err := d.docker("info"); err != nil || !strings.Contains(out, "Storage Driver: overlay2") {
		t.Fatalf("docker info: %v\n%s", err, out)
	}
}

func TestGoClient(t *testing.T) {
	testutil.RequiresRoot(t)
	d := newDaemon(t)
	d.start()
	c, err := client.New(client.WithHost("unix://" + d.Sock))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ping, err := c.Ping(ctx, client.PingOptions{})
	if err != nil || ping.APIVersion != client.MaxAPIVersion || ping.OSType != "linux" || ping.BuilderVersion != "1" ||
		ping.SwarmStatus == nil || ping.SwarmStatus.NodeState != "inactive" {
		t.Fatalf("Ping: %+v, %v", ping, err)
	}
	v, err := c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil || v.APIVersion != "1.57" || v.MinAPIVersion != "1.24" || v.Os != "linux" || len(v.Components) == 0 || v.Components[0].Name != "Engine" {
		t.Fatalf("ServerVersion: %+v, %v", v, err)
	}
	info, err := c.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	i := info.Info
	if i.ID == "" || i.Driver != "overlay2" || i.DockerRootDir != d.DataRoot || i.NCPU < 1 || i.MemTotal <= 0 ||
		i.OSType != "linux" || i.Containers != 0 || i.DefaultRuntime != "berth-runtime" || i.LoggingDriver != "json-file" ||
		(i.CgroupVersion != "1" && i.CgroupVersion != "2") {
		t.Fatalf("Info: %+v", i)
	}
}

func TestRawHTTP(t *testing.T) {
	testutil.RequiresRoot(t)
	d := newDaemon(t)
	d.start()

	message := func(b []byte) string {
		var m struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("body %q is not an error message: %v", b, err)
		}
		return m.Message
	}
	cases := []struct {
		name, method, path string
		status             int
		body, message      string
	}{
		{"oldest version ping", "GET", "/v1.24/_ping", 200, "OK", ""},
		{"too new", "GET", "/v1.99/version", 400, "", "client version 1.99 is too new. Maximum supported API version is 1.57"},
		{"too old", "GET", "/v1.10/info", 400, "", "client version 1.10 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
		{"unknown path", "GET", "/v1.45/no/such/thing", 404, "", "page not found"},
		{"head ping", "HEAD", "/_ping", 200, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := d.do(c.method, c.path)
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s: %d, want %d: %s", c.method, c.path, resp.StatusCode, c.status, b)
			}
			if c.message != "" {
				if got := message(b); got != c.message {
					t.Fatalf("message %q, want %q", got, c.message)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Fatalf("error Content-Type %q", ct)
				}
			} else if string(b) != c.body {
				t.Fatalf("body %q, want %q", b, c.body)
			}
			if c.status == 404 {
				return
			}
			want := map[string]string{"Api-Version": "1.57", "Ostype": "linux", "Docker-Experimental": "false", "Server": "Docker/dev (linux)"}
			if strings.HasSuffix(c.path, "_ping") {
				want["Swarm"], want["Builder-Version"], want["Pragma"] = "inactive", "1", "no-cache"
				want["Cache-Control"] = "no-cache, no-store, must-revalidate"
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v && !(k == "Server" && strings.HasPrefix(got, "Docker/")) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestSecondDaemonOnSameRoot(t *testing.T) {
	testutil.RequiresRoot(t)
	d := newDaemon(t)
	d.start()

	// Same data root, its own exec root and socket: the lock must refuse it.
	cmd := exec.Command(d.bin, "--config-file", filepath.Join(d.dir, "none.json"), "--data-root", d.DataRoot,
		"--exec-root", filepath.Join(d.dir, "exec2"), "-H", "unix://"+filepath.Join(d.dir, "b.sock"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second berthd: %v, want exit code 1\n%s", err, out)
	}
	if want := "is in use by another berthd (pid " + itoa(d.cmd.Process.Pid) + ")"; !strings.Contains(string(out), want) {
		t.Fatalf("second berthd said %q, want it to contain %q", out, want)
	}
	// The first daemon is unharmed.
	if resp, _ := d.do("GET", "/_ping"); resp.StatusCode != 200 {
		t.Fatalf("first daemon after the refused second: %d", resp.StatusCode)
	}

	// A different data root but the same socket: socket in use.
	cmd = exec.Command(d.bin, "--config-file", filepath.Join(d.dir, "none.json"), "--data-root", filepath.Join(d.dir, "data2"),
		"--exec-root", filepath.Join(d.dir, "exec2"), "-H", "unix://"+d.Sock)
	out, err = cmd.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "is in use: another daemon listens on it") {
		t.Fatalf("berthd on a busy socket: %v\n%s", err, out)
	}
}

func TestStartupErrors(t *testing.T) {
	testutil.RequiresRoot(t)
	d := newDaemon(t)
	if err := os.WriteFile(filepath.Join(d.dir, "daemon.json"), []byte(`{"data-root": "/x", "no-such-key": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"tcp refused", []string{"-H", "tcp://127.0.0.1:2375"}, "tcp hosts need mutual TLS"},
		{"unknown config key", []string{"--config-file", filepath.Join(d.dir, "daemon.json")}, "the following directives don't match any configuration option: no-such-key"},
		{"root under a file", []string{"--config-file", "/nonexistent/daemon.json", "--data-root", filepath.Join(d.dir, "daemon.json", "data")}, "cannot create root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--exec-root", d.ExecRoot, "-H", "unix://" + d.Sock}, c.args...)
			if c.name != "unknown config key" && c.name != "root under a file" {
				args = append(args, "--config-file", "/nonexistent/daemon.json", "--data-root", d.DataRoot)
			}
			out, err := exec.Command(d.bin, args...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), c.want) {
				t.Fatalf("berthd %v: %v\n%s\nwant %q", args, err, out, c.want)
			}
		})
	}
}

func TestSIGTERMShutsDown(t *testing.T) {
	testutil.RequiresRoot(t)
	d := newDaemon(t)
	d.start()
	pidfile := filepath.Join(d.ExecRoot, "berthd.pid")
	if b, err := os.ReadFile(pidfile); err != nil || strings.TrimSpace(string(b)) != itoa(d.cmd.Process.Pid) {
		t.Fatalf("pidfile: %q, %v", b, err)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("berthd after SIGTERM: %v\n%s", err, d.stderr)
	}
	for _, p := range []string{d.Sock, pidfile} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after shutdown: %v", p, err)
		}
	}
	// The lock went with the process: a new daemon takes the same root.
	d.start()
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/cli"
	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

// now is the fixed clock of these tests; the sample's ages are relative
// to it.
var now = time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	// CreatedAt columns print local time, as docker's do.
	time.Local = time.UTC
	os.Exit(m.Run())
}

type result struct {
	out, err string
	code     int
}

// run executes berth with args and the given environment.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := command.NewCli(&out, &errb, func(k string) string { return env[k] })
	c.Clock = func() time.Time { return now }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := cli.Run(ctx, c, args)
	// The client section shows the Go release that built the test.
	norm := strings.ReplaceAll(out.String(), runtime.Version(), "GOVERSION")
	return result{out: norm, err: errb.String(), code: code}
}

func start(t *testing.T) (*clitest.Server, map[string]string) {
	s := clitest.Start(t, clitest.Sample(now))
	return s, map[string]string{"BERTH_HOST": s.Host}
}

func TestGolden(t *testing.T) {
	_, env := start(t)
	cases := []struct {
		golden string
		args   []string
	}{
		{"version.golden", []string{"version"}},
		{"info.golden", []string{"info"}},
		{"system-info.golden", []string{"system", "info"}},
		{"ps.golden", []string{"ps"}},
		{"ps-a.golden", []string{"ps", "-a"}},
		{"ps-a-notrunc.golden", []string{"container", "ls", "-a", "--no-trunc"}},
		{"ps-a-size.golden", []string{"ps", "-a", "-s"}},
		{"ps-q.golden", []string{"container", "ps", "-aq"}},
		{"ps-json.golden", []string{"ps", "-a", "--format", "json"}},
		{"ps-table-template.golden", []string{"ps", "-a", "--format", `table {{.Names}}\t{{upper .State}}\t{{.Ports}}`}},
		{"ps-template.golden", []string{"ps", "-a", "--format", `{{.Names}}: {{json .Names}} {{truncate .ID 4}}{{pad (.Label "tier") 1 0}}`}},
		{"images.golden", []string{"images"}},
		{"images-notrunc.golden", []string{"image", "ls", "--no-trunc"}},
		{"images-digests.golden", []string{"images", "--digests"}},
		{"images-q.golden", []string{"image", "list", "-q"}},
		{"images-digest-template.golden", []string{"images", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"}},
		{"images-json.golden", []string{"images", "--format", "json"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			r := run(t, env, c.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.err)
			}
			clitest.Golden(t, c.golden, r.out)
		})
	}
}

func TestInfoWarningsOnStderr(t *testing.T) {
	_, env := start(t)
	r := run(t, env, "info")
	if want := "WARNING: bridge networking is not available yet; the default network is none\n"; r.err != want {
		t.Fatalf("stderr %q, want %q", r.err, want)
	}
}

func TestFormatOneValue(t *testing.T) {
	_, env := start(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"version template", []string{"version", "--format", "{{.Server.Version}} {{.Client.APIVersion}}"}, "0.3.0 1.57\n"},
		{"version components", []string{"version", "-f", `{{range .Server.Components}}{{.Name}} {{end}}`}, "Engine berth-runtime \n"},
		{"info template", []string{"info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.Driver}}"}, "3 1 overlay2\n"},
		{"system info template", []string{"system", "info", "-f", "{{.NCPU}} {{lower .OSType}}"}, "4 linux\n"},
		{"info join", []string{"info", "--format", `{{join .Plugins.Log ","}}`}, "json-file,local\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, env, c.args...)
			if r.code != 0 || r.out != c.want {
				t.Fatalf("exit %d, out %q (want %q), err %q", r.code, r.out, c.want, r.err)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	_, env := start(t)
	r := run(t, env, "version", "--format", "json")
	var v struct {
		Client map[string]any
		Server map[string]any
	}
	if err := json.Unmarshal([]byte(r.out), &v); err != nil || strings.Count(r.out, "\n") != 1 {
		t.Fatalf("not one JSON line: %v\n%s", err, r.out)
	}
	if v.Server["Version"] != "0.3.0" || v.Server["ApiVersion"] != "1.57" || v.Client["DefaultAPIVersion"] != "1.57" {
		t.Fatalf("unexpected %+v", v)
	}
}

func TestInfoJSON(t *testing.T) {
	_, env := start(t)
	r := run(t, env, "info", "--format", "{{json .}}")
	var v map[string]any
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatal(err)
	}
	if v["Name"] != "buildhost" || v["ClientInfo"].(map[string]any)["Context"] != "default" {
		t.Fatalf("unexpected %v", v)
	}
}

func TestAPIVersionNegotiation(t *testing.T) {
	data := clitest.Sample(now)
	data.APIVersion = "1.44"
	s := clitest.Start(t, data)
	r := run(t, map[string]string{"DOCKER_HOST": s.Host}, "version")
	if !strings.Contains(r.out, " API version:       1.44 (downgraded from 1.57)\n") {
		t.Fatalf("no downgrade shown:\n%s", r.out)
	}
	reqs := s.Requests()
	if len(reqs) < 2 || reqs[0].Path != "/_ping" {
		t.Fatalf("expected a ping first, got %+v", reqs)
	}
	for _, req := range reqs[1:] {
		if req.Version != "1.44" {
			t.Fatalf("request %s used API %q, want 1.44", req.Path, req.Version)
		}
	}

	// A pinned version is used as is, without negotiation.
	r = run(t, map[string]string{"DOCKER_HOST": s.Host, "BERTH_API_VERSION": "1.41"}, "version", "-f", "{{.Client.APIVersion}}")
	if r.out != "1.41\n" {
		t.Fatalf("pinned version: %q", r.out)
	}
}

func TestListRequests(t *testing.T) {
	s, env := start(t)
	if r := run(t, env, "ps", "--filter", "status=exited", "-f", "name=job", "-n", "2"); r.code != 0 {
		t.Fatalf("ps: %d %s", r.code, r.err)
	}
	if r := run(t, env, "images", "-a", "busybox"); r.code != 0 {
		t.Fatalf("images: %d %s", r.code, r.err)
	}
	var ps, images *clitest.Request
	for _, req := range s.Requests() {
		switch req.Path {
		case "/containers/json":
			ps = &req
		case "/images/json":
			images = &req
		}
	}
	if ps == nil || images == nil {
		t.Fatalf("list endpoints not called: %+v", s.Requests())
	}
	var f map[string]map[string]bool
	if err := json.Unmarshal([]byte(ps.Query["filters"][0]), &f); err != nil || !f["status"]["exited"] || !f["name"]["job"] {
		t.Fatalf("ps filters %v (%v)", ps.Query, err)
	}
	if ps.Query["limit"][0] != "2" || ps.Query["all"][0] != "1" {
		t.Fatalf("ps query %v", ps.Query)
	}
	f = nil
	if err := json.Unmarshal([]byte(images.Query["filters"][0]), &f); err != nil || !f["reference"]["busybox"] || images.Query["all"][0] != "1" {
		t.Fatalf("images query %v (%v)", images.Query, err)
	}
}

func TestExitCodes(t *testing.T) {
	data := clitest.Sample(now)
	data.Errors = map[string]clitest.Failure{"/info": {Status: http.StatusInternalServerError, Message: "boom"}}
	s := clitest.Start(t, data)
	env := map[string]string{"BERTH_HOST": s.Host}
	missing := "unix:///nonexistent/berth.sock"
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"unknown flag", env, []string{"ps", "--bogus"}, 125,
			"unknown flag: --bogus\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n"},
		{"bad filter", env, []string{"ps", "--filter", "nope"}, 125,
			"invalid argument \"nope\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n"},
		{"unknown global flag", env, []string{"--bogus", "ps"}, 125,
			"unknown flag: --bogus\n\nUsage:  berth [OPTIONS] COMMAND [ARG...]\n\nRun 'berth --help' for more information\n"},
		{"unknown command", env, []string{"frobnicate"}, 1,
			"berth: unknown command: berth frobnicate\n\nRun 'berth --help' for more information\n"},
		{"extra argument", env, []string{"container", "ls", "x"}, 1,
			"berth: 'berth container ls' accepts no arguments\n\nUsage:  berth container ls [OPTIONS]\n\nRun 'berth container ls --help' for more information\n"},
		{"too many arguments", env, []string{"images", "a", "b"}, 1,
			"berth: 'berth images' requires at most 1 argument\n\nUsage:  berth images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'berth images --help' for more information\n"},
		{"daemon error", env, []string{"info", "--format", "{{.ID}}"}, 1,
			"Error response from daemon: boom\n"},
		{"daemon error human", env, []string{"system", "info"}, 1,
			"errors pretty printing info\n"},
		{"bad template", env, []string{"ps", "--format", "{{.ID"}, 1,
			"failed to parse template: template: :1: unclosed action\n"},
		{"no daemon", map[string]string{"DOCKER_HOST": missing}, []string{"ps"}, 1,
			"Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is berthd running?\n"},
		{"context refused", env, []string{"--context", "remote", "ps"}, 1,
			"berth has no contexts (--context remote): use -H or BERTH_HOST to choose a daemon\n"},
		{"tls refused", env, []string{"--tlsverify", "ps"}, 1,
			"TLS connections are not supported yet: use a unix socket\n"},
		{"bad log level", env, []string{"-l", "loud", "ps"}, 1,
			"Unable to parse logging level: loud\n"},
		{"two hosts", env, []string{"-H", s.Host, "-H", s.Host, "ps"}, 1,
			"specify only one -H\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.env, c.args...)
			if r.code != c.code || r.err != c.stderr {
				t.Fatalf("exit %d, stderr %q; want %d, %q", r.code, r.err, c.code, c.stderr)
			}
		})
	}
}

func TestVersionWithoutDaemon(t *testing.T) {
	r := run(t, map[string]string{"BERTH_HOST": "unix:///nonexistent/berth.sock"}, "version")
	if r.code != 1 || !strings.HasPrefix(r.out, "Client:\n Version:") || strings.Contains(r.out, "Server") {
		t.Fatalf("exit %d, out %q", r.code, r.out)
	}
	if !strings.Contains(r.err, "Cannot connect to the berth daemon") {
		t.Fatalf("stderr %q", r.err)
	}
}

func TestHostResolution(t *testing.T) {
	s, _ := start(t)
	bad := "unix:///nonexistent/berth.sock"
	cases := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"-H beats BERTH_HOST and DOCKER_HOST", map[string]string{"BERTH_HOST": bad, "DOCKER_HOST": bad}, []string{"-H", s.Host}},
		{"--host long form", map[string]string{"BERTH_HOST": bad}, []string{"--host", s.Host}},
		{"BERTH_HOST beats DOCKER_HOST", map[string]string{"BERTH_HOST": s.Host, "DOCKER_HOST": bad}, nil},
		{"DOCKER_HOST alone", map[string]string{"DOCKER_HOST": s.Host}, nil},
		{"bare socket path", nil, []string{"-H", strings.TrimPrefix(s.Host, "unix://")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.env, append(c.args, "version", "-f", "{{.Server.Version}}")...)
			if r.code != 0 || r.out != "0.3.0\n" {
				t.Fatalf("exit %d, out %q, err %q", r.code, r.out, r.err)
			}
		})
	}
}

func TestRootVersionFlag(t *testing.T) {
	r := run(t, nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.out, "berth version ") {
		t.Fatalf("exit %d, out %q", r.code, r.out)
	}
}

// TestObjectVerbsEndToEnd drives inspect, rm and history through the fake
// server: the client's requests, the JSON and docker's messages.
func TestObjectVerbsEndToEnd(t *testing.T) {
	_, env := start(t)
	cases := []struct {
		golden string
		args   []string
		code   int
	}{
		{"inspect.golden", []string{"inspect", "web"}, 0},
		{"inspect-template.golden", []string{"container", "inspect", "-f", "{{.Name}} {{.State.Pid}} {{json .Config.Labels}}", "web"}, 0},
		{"rm.golden", []string{"rm", "web", "nope"}, 1},
		{"history.golden", []string{"history", "busybox"}, 0},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			r := run(t, env, c.args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, c.code, r.err)
			}
			clitest.Golden(t, c.golden, "stdout:\n"+r.out+"stderr:\n"+r.err)
		})
	}
}

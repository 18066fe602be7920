package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/oci"
	"github.com/berth-engine/berth/internal/server"
	routercontainer "github.com/berth-engine/berth/internal/server/router/container"
	"github.com/berth-engine/berth/internal/volume"
)

// createChecker serves POST /containers/create with the part of the
// daemon's create that runs before anything is stored: checkCreateRequest,
// the image's defaults (busybox's CMD) and the spec probe, on a fixed host.
// The other routes are not served (nil Backend).
type createChecker struct {
	routercontainer.Backend
	host *oci.Host
	d    *Daemon // empty container and volume stores, for planVolumes
}

func (c createChecker) ContainerCreate(ctx context.Context, name string, req *ctypes.CreateRequest) (ctypes.CreateResponse, error) {
	resp := ctypes.CreateResponse{Warnings: []string{}}
	cfg, hc, name, err := checkCreateRequest(name, req)
	if err != nil {
		return resp, err
	}
	if name == "" {
		name = "/checked"
	}
	if len(cfg.Cmd) == 0 && len(cfg.Entrypoint) == 0 {
		cfg.Cmd = []string{"sh"}
	}
	planned, err := c.d.planVolumes(cfg, hc, nil)
	if err != nil {
		return resp, err
	}
	ctr := container.New(container.NewID(), name, cfg, hc, time.Now())
	for _, p := range planned {
		ctr.Volumes = append(ctr.Volumes, p.VolumeMount)
	}
	err = probeSpec(ctx, ctr, oci.SpecOpts{
		Host:     c.host,
		InitPath: "/usr/local/bin/berth-init",
		ResolveContainer: func(ref string) (int, error) {
			return 0, errdefs.New(errdefs.ErrNotFound, "No such container: "+ref)
		},
		Warn: func(m string) { resp.Warnings = append(resp.Warnings, m) },
	})
	if err != nil {
		return resp, err
	}
	resp.ID = ctr.ID
	return resp, nil
}

// emptyStores is a Daemon with empty container and volume stores.
func emptyStores(t testing.TB) *Daemon {
	dir := t.TempDir()
	cs, _, err := container.Open(filepath.Join(dir, "containers"))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := volume.Open(filepath.Join(dir, "volumes"))
	if err != nil {
		t.Fatal(err)
	}
	return &Daemon{containers: cs, vols: vs}
}

// testHost is a 2-CPU host with every capability and nofile up to 1048576.
func testHost(t testing.TB) *oci.Host {
	h, err := oci.DetectHost()
	if err != nil {
		t.Fatal(err)
	}
	return &oci.Host{BoundingSet: h.BoundingSet, HardLimits: map[string]uint64{"nofile": 1 << 20}, NumCPU: 2, SwapLimit: true}
}

func createHandler(t testing.TB, logs *bytes.Buffer) http.Handler {
	lg := slog.New(slog.NewTextHandler(logs, nil))
	return server.New(server.Config{Version: "test", Logger: lg}, routercontainer.New(createChecker{host: testHost(t), d: emptyStores(t)})).Handler()
}

func postCreate(h http.Handler, name, ctype string, body []byte) *httptest.ResponseRecorder {
	target := "/v1.41/containers/create"
	if name != "" {
		target += "?name=" + url.QueryEscape(name)
	}
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestCreateBadRequests: each case is a request dockerd 20.10 answers with
// a 4xx (or, where dockerd answered 500 for the user's mistake, what
// current dockerd answers), checked for status and docker's message.
func TestCreateBadRequests(t *testing.T) {
	const img = `"Image":"busybox","Cmd":["true"]`
	hcBody := func(hc string) string { return `{` + img + `,"HostConfig":` + hc + `}` }
	cases := []struct {
		name, ctype, query, body string
		status                   int
		msg                      string
	}{
		{"valid", "", "", `{` + img + `}`, 201, `"Id":`},
		{"tty", "", "", `{` + img + `,"Tty":true,"OpenStdin":true}`, 201, `"Id":`},
		{"unknown fields are ignored, as dockerd does", "application/json", "", `{` + img + `,"Bogus":1,"HostConfig":{"Nope":2}}`, 201, `"Id":`},
		{"malformed", "application/json", "", `{"Image":`, 400, "invalid JSON: unexpected EOF"},
		{"empty body", "application/json", "", ``, 400, "invalid JSON: got EOF while reading request body"},
		{"array body", "application/json", "", `[1,2]`, 400, "invalid JSON: json: cannot unmarshal array"},
		{"null body", "application/json", "", `null`, 400, "config cannot be empty in order to create a container"},
		{"trailing data", "application/json", "", `{` + img + `}xx`, 400, "unexpected content after JSON"},
		{"string memory", "application/json", "", hcBody(`{"Memory":"x"}`), 400, "cannot unmarshal string into Go struct field"},
		{"float memory", "application/json", "", hcBody(`{"Memory":1.5}`), 400, "cannot unmarshal number 1.5"},
		{"overflowing memory", "application/json", "", hcBody(`{"Memory":99999999999999999999}`), 400, "cannot unmarshal number 99999999999999999999"},
		{"number Cmd", "application/json", "", `{"Image":"busybox","Cmd":5}`, 400, "cannot unmarshal number"},
		{"text/plain", "text/plain", "", `{` + img + `}`, 400, "unsupported Content-Type header (text/plain): must be 'application/json'"},
		{"form content type", "application/x-www-form-urlencoded", "", `{` + img + `}`, 400, "unsupported Content-Type header"},
		{"no image", "", "", `{"Cmd":["true"]}`, 400, "no image specified"},
		{"negative memory", "", "", hcBody(`{"Memory":-1}`), 400, "Minimum memory limit allowed is 6MB"},
		{"memory below 6MB", "", "", hcBody(`{"Memory":1000}`), 400, "Minimum memory limit allowed is 6MB"},
		{"memory swap below memory", "", "", hcBody(`{"Memory":10000000,"MemorySwap":5000000}`), 400, "Minimum memoryswap limit should be larger than memory limit, see usage"},
		{"swappiness", "", "", hcBody(`{"MemorySwappiness":200}`), 400, "Invalid value: 200, valid memory swappiness range is 0-100"},
		{"NanoCpus too many", "", "", hcBody(`{"NanoCpus":100000000000}`), 400, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
		{"NanoCpus negative", "", "", hcBody(`{"NanoCpus":-1}`), 400, "Range of CPUs is from 0.01 to 2.00"},
		{"NanoCpus with CpuQuota", "", "", hcBody(`{"NanoCpus":1000000000,"CpuQuota":50000}`), 400, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"},
		{"CpuShares negative", "", "", hcBody(`{"CpuShares":-1}`), 400, "invalid CPU shares -1"},
		{"CpuPeriod", "", "", hcBody(`{"CpuPeriod":5}`), 400, "CPU cfs period can not be less than 1ms"},
		{"cpuset", "", "", hcBody(`{"CpusetCpus":"0-x"}`), 400, "Invalid value 0-x for cpuset cpus"},
		{"blkio weight", "", "", hcBody(`{"BlkioWeight":5}`), 400, "Range of blkio weight is from 10 to 1000"},
		{"oom score", "", "", hcBody(`{"OomScoreAdj":5000}`), 400, "Invalid value 5000, range for oom score adj is [-1000, 1000]"},
		{"shm size", "", "", hcBody(`{"ShmSize":-1}`), 400, "SHM size can not be less than 0"},
		{"PidsLimit negative is unlimited", "", "", hcBody(`{"PidsLimit":-5}`), 201, `"Id":`},
		{"restart policy name", "", "", hcBody(`{"RestartPolicy":{"Name":"sometimes"}}`), 400, "invalid restart policy: unknown policy 'sometimes'"},
		{"restart on-failure negative", "", "", hcBody(`{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}`), 400, "maximum retry count cannot be negative"},
		{"restart count without on-failure", "", "", hcBody(`{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}`), 400, "maximum retry count can only be used with 'on-failure'"},
		{"restart with AutoRemove", "", "", hcBody(`{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}`), 400, "can't create 'AutoRemove' container with restart policy"},
		{"ulimit name", "", "", hcBody(`{"Ulimits":[{"Name":"bogus","Soft":1,"Hard":1}]}`), 400, "invalid ulimit type: bogus"},
		{"ulimit soft above hard", "", "", hcBody(`{"Ulimits":[{"Name":"nofile","Soft":10,"Hard":1}]}`), 400, "ulimit soft limit must be less than or equal to hard limit: 10 > 1"},
		{"ulimit null entry", "", "", hcBody(`{"Ulimits":[null]}`), 201, `"Id":`},
		{"sysctl not namespaced", "", "", hcBody(`{"Sysctls":{"vm.swappiness":"1"}}`), 400, `sysctl \"vm.swappiness\" is not allowed`},
		{"sysctl with host network", "", "", hcBody(`{"NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}}`), 400, "not allowed in host network namespace"},
		{"volume name with dots", "", "", hcBody(`{"Binds":["../../etc:/x"]}`), 400, `create ../../etc: \"../../etc\" includes invalid characters for a local volume name`},
		{"volume name with slash", "", "", hcBody(`{"Binds":["a/b:/x"]}`), 400, `create a/b: \"a/b\" includes invalid characters`},
		{"mount volume bad name", "", "", hcBody(`{"Mounts":[{"Type":"volume","Source":"../x","Target":"/x"}]}`), 400, "includes invalid characters"},
		{"mount volume bad option", "", "", hcBody(`{"Mounts":[{"Type":"volume","Source":"v1","Target":"/x","VolumeOptions":{"DriverConfig":{"Options":{"bogus":"1"}}}}]}`), 400, `create v1: invalid option: \"bogus\"`},
		{"bind inside proc", "", "", hcBody(`{"Binds":["/tmp:/proc/sys/kernel"]}`), 400, "inside /proc"},
		{"volume inside proc", "", "", hcBody(`{"Binds":["v1:/proc/x"]}`), 400, "inside /proc"},
		{"volumes-from missing", "", "", hcBody(`{"VolumesFrom":["nosuch"]}`), 400, "No such container: nosuch"},
		{"bind target relative", "", "", hcBody(`{"Binds":["/tmp:rel"]}`), 400, "invalid volume specification: '/tmp:rel'"},
		{"mount source relative", "", "", hcBody(`{"Mounts":[{"Type":"bind","Source":"rel","Target":"/x"}]}`), 400, `invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute`},
		{"mount target relative", "", "", hcBody(`{"Mounts":[{"Type":"bind","Source":"/tmp","Target":"x"}]}`), 400, `invalid mount config for type \"bind\": invalid mount path: 'x' mount path must be absolute`},
		{"mount without source", "", "", hcBody(`{"Mounts":[{"Type":"bind","Target":"/x"}]}`), 400, `invalid mount config for type \"bind\": field Source must not be empty`},
		{"mount type unknown", "", "", hcBody(`{"Mounts":[{"Type":"weird","Source":"/tmp","Target":"/x"}]}`), 400, `invalid mount config for type \"weird\": mount type unknown`},
		{"tmpfs relative", "", "", hcBody(`{"Tmpfs":{"rel":""}}`), 400, "'rel' mount path must be absolute"},
		{"StopSignal garbage", "", "", `{` + img + `,"StopSignal":"SIGGARBAGE"}`, 400, "Invalid signal: SIGGARBAGE"},
		{"StopSignal out of range", "", "", `{` + img + `,"StopSignal":"99"}`, 400, "Invalid signal: 99"},
		{"StopSignal by name", "", "", `{` + img + `,"StopSignal":"usr1"}`, 201, `"Id":`},
		{"healthcheck interval", "", "", `{` + img + `,"Healthcheck":{"Test":["CMD","true"],"Interval":-1}}`, 400, "Interval in Healthcheck cannot be less than 1ms"},
		{"healthcheck timeout", "", "", `{` + img + `,"Healthcheck":{"Timeout":10}}`, 400, "Timeout in Healthcheck cannot be less than 1ms"},
		{"healthcheck retries", "", "", `{` + img + `,"Healthcheck":{"Retries":-1}}`, 400, "Retries in Healthcheck cannot be negative"},
		{"host port", "", "", hcBody(`{"PortBindings":{"80/tcp":[{"HostPort":"notaport"}]}}`), 400, `invalid port specification: \"notaport\"`},
		{"host port range", "", "", hcBody(`{"PortBindings":{"80/tcp":[{"HostPort":"8000-8010"}]}}`), 201, `"Id":`},
		{"exposed port", "", "", `{` + img + `,"ExposedPorts":{"abc/tcp":{}}}`, 400, "invalid port"},
		{"isolation", "", "", hcBody(`{"Isolation":"hyperv"}`), 400, `Invalid isolation: \"hyperv\" - linux only supports 'default'`},
		{"capability", "", "", hcBody(`{"CapAdd":["BOGUS"]}`), 400, `invalid CapAdd: unknown capability: \"CAP_BOGUS\"`},
		{"ipc mode", "", "", hcBody(`{"IpcMode":"bogus"}`), 400, "invalid IpcMode: bogus"},
		{"network container empty", "", "", hcBody(`{"NetworkMode":"container:"}`), 400, "invalid NetworkMode: container:"},
		{"joined container missing", "", "", hcBody(`{"PidMode":"container:nope"}`), 404, "No such container: nope"},
		{"device path", "", "", hcBody(`{"Devices":[{"PathOnHost":"rel","PathInContainer":"/dev/x","CgroupPermissions":"rwm"}]}`), 400, "invalid device path"},
		{"env", "", "", `{` + img + `,"Env":["=x"]}`, 400, "invalid environment variable: =x"},
		{"working dir", "", "", `{` + img + `,"WorkingDir":"rel"}`, 400, "the working directory 'rel' is invalid, it needs to be an absolute path"},
		{"log driver", "", "", hcBody(`{"LogConfig":{"Type":"bogus"}}`), 400, `logging driver \"bogus\"`},
		{"name with slash", "", "a/b", `{` + img + `}`, 400, "Invalid container name (a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"},
		{"image reference uppercase", "", "", `{"Image":"BUSYBOX"}`, 400, "invalid reference format: repository name (library/BUSYBOX) must be lowercase"},
		{"image reference colons", "", "", `{"Image":"a:b:c"}`, 400, "invalid reference format"},
		{"image reference bad digest", "", "", `{"Image":"busybox@sha256:xyz"}`, 400, "invalid reference format"},
		{"image reference too long", "", "", `{"Image":"` + strings.Repeat("a", 300) + `"}`, 400, "repository name must not be more than 255 characters"},
		{"image by id", "", "", `{"Image":"sha256:` + strings.Repeat("ab", 32) + `"}`, 201, `"Id":`},
		{"add-host without address", "", "", hcBody(`{"ExtraHosts":["nocolon"]}`), 400, `bad format for add-host: \"nocolon\"`},
		{"add-host bad address", "", "", hcBody(`{"ExtraHosts":["h:300.1.1.1"]}`), 400, `invalid IP address in add-host: \"300.1.1.1\"`},
		{"add-host forms", "", "", hcBody(`{"ExtraHosts":["a:10.0.0.1","b=::1","c:[fe80::1]","d:host-gateway"]}`), 201, `"Id":`},
		{"bind and mount at one place", "", "", hcBody(`{"Binds":["/tmp:/v"],"Mounts":[{"Type":"tmpfs","Target":"/v/"}]}`), 400, "Duplicate mount point: /v"},
		{"two binds at one place", "", "", hcBody(`{"Binds":["/tmp:/v","/usr:/v:ro"]}`), 400, "Duplicate mount point: /v"},
		{"security opt without value", "", "", hcBody(`{"SecurityOpt":["bogus"]}`), 400, `invalid --security-opt 1: \"bogus\"`},
		{"name with star", "", "a*b", `{` + img + `}`, 400, "Invalid container name (a*b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"},
		{"name leading dash", "", "-ab", `{` + img + `}`, 400, "Invalid container name (-ab)"},
		{"name of one letter", "", "a", `{` + img + `}`, 400, "Invalid container name (a)"},
		{"name with leading slash", "", "/web", `{` + img + `}`, 201, `"Id":`},
		{"oversized body", "application/json", "", `{` + img + `,"Env":["X=` + strings.Repeat("a", 11<<20) + `"]}`, 413, "request body larger than 10485760 bytes"},
	}
	var logs bytes.Buffer
	h := createHandler(t, &logs)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := postCreate(h, c.query, c.ctype, []byte(c.body))
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.msg) {
				t.Fatalf("%d %s, want %d %q", w.Code, w.Body, c.status, c.msg)
			}
			if c.status >= 400 {
				var e struct{ Message string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Message == "" {
					t.Fatalf("error body %q is not docker's {\"message\"}", w.Body)
				}
			}
		})
	}
	if strings.Contains(logs.String(), "panic") {
		t.Fatalf("a request panicked:\n%s", logs.String())
	}
}

// TestVerifyClassesAtOrigin: the create checks' errors carry
// errdefs.ErrInvalidParameter themselves, not only at the HTTP edge.
func TestVerifyClassesAtOrigin(t *testing.T) {
	bad := []struct {
		name string
		cfg  ctypes.Config
		hc   ctypes.HostConfig
	}{
		{"stop signal", ctypes.Config{StopSignal: "NOPE"}, ctypes.HostConfig{}},
		{"health", ctypes.Config{Healthcheck: &ctypes.HealthConfig{StartPeriod: time.Microsecond}}, ctypes.HostConfig{}},
		{"restart", ctypes.Config{}, ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "x"}}},
		{"isolation", ctypes.Config{}, ctypes.HostConfig{Isolation: "process"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			err := verifyContainerSettings(&c.cfg, &c.hc)
			if !errors.Is(err, errdefs.ErrInvalidParameter) {
				t.Fatalf("err %v is not ErrInvalidParameter", err)
			}
		})
	}
	if err := verifyContainerSettings(&ctypes.Config{StopSignal: "SIGUSR2"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"0", "80", "65535", "1-2"} {
		if !validPortRange(ok) {
			t.Errorf("validPortRange(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "x", "65536", "-1", "2-1", "1-", "1-2-3"} {
		if validPortRange(bad) {
			t.Errorf("validPortRange(%q) = true", bad)
		}
	}
}

// TestCreateInit: --init without an init binary is the user's to fix at
// create, not a failure at start.
func TestCreateInit(t *testing.T) {
	yes := true
	ctr := container.New(container.NewID(), "/x", &ctypes.Config{Image: "busybox", Cmd: []string{"true"}}, &ctypes.HostConfig{Init: &yes}, time.Now())
	err := probeSpec(context.Background(), ctr, oci.SpecOpts{Host: testHost(t)})
	if !errors.Is(err, errdefs.ErrInvalidParameter) || !strings.Contains(err.Error(), "no init binary") {
		t.Fatalf("err %v", err)
	}
	err = probeSpec(context.Background(), ctr, oci.SpecOpts{Host: testHost(t), InitPath: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
}

// seedBodies are the fuzz seeds: testdata/create/*.json, each a request
// body docker's clients send or a bad one of those above.
func seedBodies(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "create", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds in testdata/create: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

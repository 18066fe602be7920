package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawRequest writes one HTTP/1.1 request by hand on a fresh connection to
// d's socket (so that no client library fixes the request up) and returns
// the status and body of the answer. The body is written concurrently: the
// daemon may answer, and close, before it has read all of it.
func (d *daemon) rawRequest(t *testing.T, method, path, ctype string, body []byte) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("unix", d.Sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: berth\r\nContent-Length: %d\r\nConnection: close\r\n", method, path, len(body))
	if ctype != "" {
		fmt.Fprintf(&head, "Content-Type: %s\r\n", ctype)
	}
	head.WriteString("\r\n")
	go func() {
		// A write error (EPIPE after an early answer) is expected.
		_, _ = io.WriteString(conn, head.String())
		_, _ = conn.Write(body)
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v\nberthd:\n%s", method, path, err, d.stderr)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBadRequestsRaw sends malformed and absurd requests to a real berthd
// and checks docker's status and message for each (dockerd 20.10's, or
// current dockerd's where 20.10 answered 500 for the client's mistake),
// then that the daemon still serves and nothing was created.
func TestBadRequestsRaw(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("run", "-d", "--name", "target", "busybox", "sleep", "100")
	const img = `"Image":"busybox","Cmd":["true"]`
	hc := func(s string) string { return `{` + img + `,"HostConfig":` + s + `}` }
	const json_ = "application/json"
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		msg                             string
	}{
		{"malformed JSON", "POST", "/containers/create", json_, `{"Image":`, 400, "invalid JSON: unexpected EOF"},
		{"empty body", "POST", "/containers/create", json_, ``, 400, "invalid JSON: got EOF while reading request body"},
		{"trailing garbage", "POST", "/containers/create", json_, `{` + img + `} x`, 400, "unexpected content after JSON"},
		{"Memory as a string", "POST", "/containers/create", json_, hc(`{"Memory":"x"}`), 400, "cannot unmarshal string into Go struct field"},
		{"Cmd as a number", "POST", "/containers/create", json_, `{"Image":"busybox","Cmd":5}`, 400, "cannot unmarshal number"},
		{"binary garbage", "POST", "/containers/create", json_, "\xff\xfe\x00{", 400, "invalid JSON"},
		{"text/plain", "POST", "/containers/create", "text/plain", `{` + img + `}`, 400, "unsupported Content-Type header (text/plain): must be 'application/json'"},
		{"negative Memory", "POST", "/containers/create", json_, hc(`{"Memory":-1}`), 400, "Minimum memory limit allowed is 6MB"},
		{"Memory 1000", "POST", "/containers/create", json_, hc(`{"Memory":1000}`), 400, "Minimum memory limit allowed is 6MB"},
		{"NanoCpus 1000 CPUs", "POST", "/containers/create", json_, hc(`{"NanoCpus":1000000000000}`), 400, "Range of CPUs is from 0.01 to"},
		{"negative CpuShares", "POST", "/containers/create", json_, hc(`{"CpuShares":-1}`), 400, "invalid CPU shares -1"},
		{"restart policy name", "POST", "/containers/create", json_, hc(`{"RestartPolicy":{"Name":"sometimes"}}`), 400, "invalid restart policy"},
		{"on-failure negative", "POST", "/containers/create", json_, hc(`{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}`), 400, "maximum retry count cannot be negative"},
		{"restart and AutoRemove", "POST", "/containers/create", json_, hc(`{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}`), 400, "can't create 'AutoRemove' container with restart policy"},
		{"ulimit", "POST", "/containers/create", json_, hc(`{"Ulimits":[{"Name":"nofile","Soft":10,"Hard":1}]}`), 400, "ulimit soft limit must be less than or equal to hard limit"},
		{"sysctl", "POST", "/containers/create", json_, hc(`{"Sysctls":{"kernel.bogus":"1"}}`), 400, `sysctl \"kernel.bogus\" is not allowed`},
		{"relative bind source", "POST", "/containers/create", json_, hc(`{"Binds":["../rel:/x"]}`), 400, `create ../rel: \"../rel\" includes invalid characters for a local volume name`},
		{"relative mount target", "POST", "/containers/create", json_, hc(`{"Mounts":[{"Type":"bind","Source":"/tmp","Target":"x"}]}`), 400, "'x' mount path must be absolute"},
		{"unknown mount type", "POST", "/containers/create", json_, hc(`{"Mounts":[{"Type":"weird","Source":"/tmp","Target":"/x"}]}`), 400, `invalid mount config for type \"weird\": mount type unknown`},
		{"StopSignal garbage", "POST", "/containers/create", json_, `{` + img + `,"StopSignal":"SIGGARBAGE"}`, 400, "Invalid signal: SIGGARBAGE"},
		{"healthcheck interval", "POST", "/containers/create", json_, `{` + img + `,"Healthcheck":{"Interval":-1}}`, 400, "Interval in Healthcheck cannot be less than 1ms"},
		{"host port", "POST", "/containers/create", json_, hc(`{"PortBindings":{"80/tcp":[{"HostPort":"notaport"}]}}`), 400, `invalid port specification: \"notaport\"`},
		{"name with slash", "POST", "/containers/create?name=a/b", json_, `{` + img + `}`, 400, "Invalid container name (a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"},
		{"name with a space", "POST", "/containers/create?name=a%20b", json_, `{` + img + `}`, 400, "Invalid container name (a b)"},
		{"name taken", "POST", "/containers/create?name=target", json_, `{` + img + `}`, 409, `Conflict. The container name \"/target\" is already in use by container`},
		{"image reference", "POST", "/containers/create", json_, `{"Image":"BUSYBOX"}`, 400, "invalid reference format"},
		{"entrypoint reset and no Cmd", "POST", "/containers/create", json_, `{"Image":"busybox","Entrypoint":[""]}`, 400, "no command specified"},
		{"unknown runtime", "POST", "/containers/create", json_, hc(`{"Runtime":"nope"}`), 400, "Unknown runtime specified nope"},
		{"add-host", "POST", "/containers/create", json_, hc(`{"ExtraHosts":["nocolon"]}`), 400, `bad format for add-host: \"nocolon\"`},
		{"VolumesFrom missing", "POST", "/containers/create", json_, hc(`{"VolumesFrom":["nope"]}`), 400, "No such container: nope"},
		{"Links missing", "POST", "/containers/create", json_, hc(`{"Links":["nope:alias"]}`), 400, "could not get container for nope: No such container: nope"},
		{"bind and mount at one place", "POST", "/containers/create", json_, hc(`{"Binds":["/tmp:/v"],"Mounts":[{"Type":"tmpfs","Target":"/v"}]}`), 400, "Duplicate mount point: /v"},
		{"security opt", "POST", "/containers/create", json_, hc(`{"SecurityOpt":["bogus"]}`), 400, `invalid --security-opt 1: \"bogus\"`},
		{"11 MB body", "POST", "/containers/create", json_, `{` + img + `,"Env":["X=` + strings.Repeat("a", 11<<20) + `"]}`, 413, "request body larger than 10485760 bytes"},
		{"start with a HostConfig body", "POST", "/containers/target/start", json_, `{"Memory":1}`, 400, "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24"},
		{"stop t not a number", "POST", "/containers/target/stop?t=x", "", ``, 400, "invalid value for t: x"},
		{"stop signal unknown", "POST", "/containers/target/stop?signal=NOPE", "", ``, 400, "Invalid signal: NOPE"},
		{"kill signal unknown", "POST", "/containers/target/kill?signal=SIGNOPE", "", ``, 400, "Invalid signal: SIGNOPE"},
		{"kill signal 99", "POST", "/containers/target/kill?signal=99", "", ``, 400, "Invalid signal: 99"},
		{"restart t fraction", "POST", "/containers/target/restart?t=1.5", "", ``, 400, "invalid value for t: 1.5"},
		{"list limit", "GET", "/containers/json?limit=x", "", ``, 400, "invalid value for limit: x"},
		{"list filters", "GET", "/containers/json?filters=garbage", "", ``, 400, "invalid filter"},
		{"logs no stream", "GET", "/containers/target/logs", "", ``, 400, "Bad parameters: you must choose at least one stream"},
		{"logs tail", "GET", "/containers/target/logs?stdout=1&tail=x", "", ``, 400, "invalid value for tail: x"},
		{"wait condition", "POST", "/containers/target/wait?condition=soon", "", ``, 400, "invalid condition"},
		{"rename bad name", "POST", "/containers/target/rename?name=a/b", "", ``, 400, "Invalid container name (a/b)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := d.rawRequest(t, c.method, "/v1.41"+c.path, c.ctype, []byte(c.body))
			if code != c.status || !strings.Contains(body, c.msg) {
				t.Fatalf("%s %s: %d %.300s, want %d %q", c.method, c.path, code, body, c.status, c.msg)
			}
			var e struct{ Message string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message == "" {
				t.Fatalf("error body %.300q is not docker's {\"message\"}", body)
			}
		})
	}

	// Docker ignores fields it does not know; so do we.
	code, body := d.rawRequest(t, "POST", "/v1.41/containers/create?name=unknownfields", json_, []byte(`{`+img+`,"Bogus":1,"HostConfig":{"Nope":2}}`))
	if code != http.StatusCreated {
		t.Fatalf("unknown fields: %d %s", code, body)
	}
	d.mustDocker("rm", "unknownfields")

	// A TTY is no longer refused at create: the shim holds a pty.
	if out, _ := d.runLogged("-t", "busybox", "tty"); out != "/dev/pts/0" {
		t.Fatalf("run -t: %q", out)
	}

	// --entrypoint "" clears the entrypoint (the command runs), as with
	// dockerd; --runtime with a known name is accepted.
	if out, _ := d.runLogged("--entrypoint", "", "--runtime", "berth-runtime", "busybox", "echo", "reset"); out != "reset" {
		t.Fatalf("run --entrypoint \"\": %q", out)
	}

	// Still serving, and the bad requests left nothing behind.
	if out, _ := d.runLogged("busybox", "echo", "still here"); out != "still here" {
		t.Fatalf("run after the bad requests: %q", out)
	}
	if out := d.mustDocker("inspect", "-f", "{{.State.Running}}", "target"); out != "true" {
		t.Fatalf("target after the bad requests: running=%s", out)
	}
	d.mustDocker("rm", "-f", "target")
	if out := d.mustDocker("ps", "-aq"); out != "" {
		t.Fatalf("bad requests left containers: %q", out)
	}
}

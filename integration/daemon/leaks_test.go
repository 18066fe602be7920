package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/gorilla/websocket"
)

// Clients that go away in the middle of an attach or exec stream, and
// requests that fail, must leave berthd (and the shims) with the
// descriptors and goroutines they had before. berthd runs with -D so that
// /debug/pprof/goroutine answers.

// debugDaemon is containerDaemon restarted with -D.
func debugDaemon(t *testing.T) *daemon {
	t.Helper()
	d := containerDaemon(t)
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	d.start("-D")
	return d
}

// goroutines reads the total of berthd's goroutine profile.
func (d *daemon) goroutines() int {
	d.t.Helper()
	resp, body := d.do("GET", "/debug/pprof/goroutine?debug=1")
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("goroutine profile: %d %s", resp.StatusCode, body)
	}
	first, _, _ := strings.Cut(string(body), "\n")
	n, err := strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
	if err != nil {
		d.t.Fatalf("goroutine profile starts %q", first)
	}
	return n
}

func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// shimPid is the parent of the container's init: its berth-shim.
func shimPid(t *testing.T, d *daemon, name string) int {
	t.Helper()
	pid := d.mustDocker("inspect", "-f", "{{.State.Pid}}", name)
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command's closing parenthesis: state, ppid.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

// counts is what one snapshot measures.
type counts struct{ goroutines, fds, shimFDs int }

// Slack: the snapshot's own request is open in both snapshots, so the
// counts should match exactly once settled; one extra goroutine allows
// for net/http's connection goroutine of a CLI that has just exited and
// whose close the server has not read yet when the profile is taken.
// Descriptors get none.
const goroutineSlack = 1

func (d *daemon) snapshot(t *testing.T, shims []int) counts {
	c := counts{goroutines: d.goroutines(), fds: fdCount(t, d.cmd.Process.Pid)}
	for _, p := range shims {
		c.shimFDs += fdCount(t, p)
	}
	return c
}

// settle waits up to 10 s for the counts to come back to base.
func (d *daemon) settle(t *testing.T, what string, base counts, shims []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := d.snapshot(t, shims)
		if now.goroutines <= base.goroutines+goroutineSlack && now.fds <= base.fds && now.shimFDs <= base.shimFDs {
			t.Logf("%s: goroutines %d (base %d), fds %d (base %d), shim fds %d (base %d)", what,
				now.goroutines, base.goroutines, now.fds, base.fds, now.shimFDs, base.shimFDs)
			return
		}
		if time.Now().After(deadline) {
			_, prof := d.do("GET", "/debug/pprof/goroutine?debug=1")
			t.Fatalf("%s: goroutines %d (base %d), fds %d (base %d), shim fds %d (base %d)\n%s", what,
				now.goroutines, base.goroutines, now.fds, base.fds, now.shimFDs, base.shimFDs, prof)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawStream opens a hijacked stream (attach or exec start) on a new
// connection and returns it after the 101 response's head.
func (d *daemon) rawStream(t *testing.T, path, body string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("unix", d.Sock)
	if err != nil {
		t.Fatal(err)
	}
	req := "POST " + path + " HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	if body != "" {
		req += "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"+body); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
	}
	return c, br
}

// killedCLI runs the docker CLI on a pty, waits for want in its output
// after typing input, and kills it by its PID.
func (d *daemon) killedCLI(t *testing.T, input, want string, args ...string) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock, "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	found := make(chan bool, 1)
	var seen strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			seen.Write(buf[:n])
			if strings.Contains(seen.String(), want) {
				found <- true
				io.Copy(io.Discard, ptmx)
				return
			}
			if err != nil {
				found <- false
				return
			}
		}
	}()
	io.WriteString(ptmx, input)
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("docker %v ended before %q: %q\nberthd:\n%s", args, want, seen.String(), d.stderr)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("docker %v: no %q", args, want)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

func TestStreamsDoNotLeak(t *testing.T) {
	d := debugDaemon(t)
	d.mustDocker("ps") // the API's first requests initialise what stays
	idle := d.snapshot(t, nil)

	// idle: a TTY shell that writes nothing unless asked; chatty: output
	// every 50 ms; svc: a plain container for execs.
	d.mustDocker("run", "-d", "-it", "--name", "idle", "busybox", "sh")
	d.mustDocker("run", "-d", "--name", "chatty", "busybox", "sh", "-c", "while :; do echo tick; sleep 0.05; done")
	d.mustDocker("run", "-d", "-i", "--name", "svc", "busybox", "sleep", "1000")
	shims := []int{shimPid(t, d, "idle"), shimPid(t, d, "chatty"), shimPid(t, d, "svc")}

	scenarios := []struct {
		name string
		run  func(t *testing.T, i int)
	}{
		{"killed docker attach (TTY, idle)", func(t *testing.T, i int) {
			d.killedCLI(t, fmt.Sprintf("echo at-$((%d+1000))\r", i), fmt.Sprintf("at-%d", i+1000), "attach", "idle")
		}},
		{"killed docker exec -it (TTY, idle)", func(t *testing.T, i int) {
			// The exec's shell outlives its client (as under dockerd):
			// it exits by itself 1 s later.
			d.killedCLI(t, "", "ready", "exec", "-it", "idle", "sh", "-c", "echo ready; sleep 1")
		}},
		{"killed docker exec -i (pipes)", func(t *testing.T, i int) {
			d.killedCLI(t, "", "ready", "exec", "-i", "svc", "sh", "-c", "echo ready; sleep 1")
		}},
		{"raw attach with stdin closed (TTY, idle)", func(t *testing.T, i int) {
			c, br := d.rawStream(t, "/containers/idle/attach?stream=1&stdin=1&stdout=1&stderr=1", "")
			fmt.Fprintf(c, "echo raw-$((%d+2000))\r", i)
			waitFor(t, br, fmt.Sprintf("raw-%d", i+2000))
			c.Close()
		}},
		{"raw attach without stdin closed (output flowing)", func(t *testing.T, i int) {
			c, br := d.rawStream(t, "/containers/chatty/attach?stream=1&stdout=1&stderr=1", "")
			waitFor(t, br, "tick")
			c.Close()
		}},
		{"raw attach without stdin, half-closed then closed (idle)", func(t *testing.T, i int) {
			c, _ := d.rawStream(t, "/containers/idle/attach?stream=1&stdout=1", "")
			c.(*net.UnixConn).CloseWrite()
			time.Sleep(100 * time.Millisecond)
			c.Close()
		}},
		{"raw exec start closed (TTY)", func(t *testing.T, i int) {
			id := d.execCreate(t, "idle", `{"AttachStdin":true,"AttachStdout":true,"Tty":true,"Cmd":["sh","-c","echo ready; sleep 1"]}`)
			c, br := d.rawStream(t, "/exec/"+id+"/start", `{"Tty":true}`)
			waitFor(t, br, "ready")
			c.Close()
		}},
		{"websocket attach closed", func(t *testing.T, i int) {
			ws := d.dialWS(t, "/containers/chatty/attach/ws?stream=1&stdout=1")
			if _, p, err := ws.ReadMessage(); err != nil || !strings.Contains(string(p), "tick") {
				t.Fatalf("websocket: %q %v", p, err)
			}
			ws.NetConn().Close()
		}},
		{"resize to 0x0 (as dockerd 20.10: 200, no body)", func(t *testing.T, i int) {
			for _, p := range []string{"/containers/idle/resize?h=0&w=0", "/containers/idle/resize?h=0&w=30"} {
				if resp, body := d.do("POST", p); resp.StatusCode != http.StatusOK || len(body) != 0 {
					t.Fatalf("%s: %d %q", p, resp.StatusCode, body)
				}
			}
		}},
		{"unknown exec (404)", func(t *testing.T, i int) {
			for _, p := range []string{"/exec/nope/start", "/exec/nope/resize?h=1&w=1", "/exec/nope/json"} {
				m := "POST"
				if strings.HasSuffix(p, "json") {
					m = "GET"
				}
				resp, body := d.doJSON(m, p, "{}")
				if resp.StatusCode != http.StatusNotFound || string(body) != `{"message":"No such exec instance: nope"}`+"\n" {
					t.Fatalf("%s %s: %d %q", m, p, resp.StatusCode, body)
				}
			}
		}},
		{"attach to a removed container (404)", func(t *testing.T, i int) {
			d.mustDocker("create", "--name", "gone", "busybox", "true")
			d.mustDocker("rm", "gone")
			resp, body := d.do("POST", "/containers/gone/attach?stream=1&stdout=1")
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "No such container: gone") {
				t.Fatalf("attach: %d %q", resp.StatusCode, body)
			}
		}},
		{"exec started twice (409)", func(t *testing.T, i int) {
			id := d.execCreate(t, "svc", `{"Cmd":["true"]}`)
			if resp, body := d.doJSON("POST", "/exec/"+id+"/start", `{"Detach":true}`); resp.StatusCode != http.StatusOK {
				t.Fatalf("first start: %d %q", resp.StatusCode, body)
			}
			resp, body := d.doJSON("POST", "/exec/"+id+"/start", `{"Detach":true}`)
			if resp.StatusCode != http.StatusConflict || !strings.HasPrefix(string(body), `{"message":"Error: Exec command `+id+` ha`) &&
				!strings.HasPrefix(string(body), `{"message":"Error: Exec command `+id+` is already running`) {
				t.Fatalf("second start: %d %q", resp.StatusCode, body)
			}
		}},
	}
	// No warm-up round: a stream leaked in it would be in the baseline
	// and hide the same leak later (the next output on the container
	// ends a leaked relay, so leaks do not add up). Three rounds.
	base := d.snapshot(t, shims)
	for i := 1; i <= 3; i++ {
		for _, sc := range scenarios {
			sc.run(t, i)
		}
	}
	// The containers still run: every stream whose client went away has
	// ended, also on the idle TTY with nothing to write.
	time.Sleep(1500 * time.Millisecond)
	d.settle(t, "after 3 rounds, containers running", base, shims)

	for _, n := range []string{"idle", "chatty", "svc"} {
		d.mustDocker("rm", "-f", n)
	}
	d.settle(t, "containers removed", idle, nil)
}

// waitFor reads r until s appears (10 s at most).
func waitFor(t *testing.T, r *bufio.Reader, s string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		var seen []byte
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			seen = append(seen, buf[:n]...)
			if strings.Contains(string(seen), s) {
				done <- nil
				return
			}
			if err != nil {
				done <- fmt.Errorf("%v before %q (read %q)", err, s, seen)
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q", s)
	}
}

func (d *daemon) doJSON(method, path, body string) (*http.Response, []byte) {
	d.t.Helper()
	req, err := http.NewRequest(method, "http://berth"+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := d.http()
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (d *daemon) execCreate(t *testing.T, ctr, body string) string {
	t.Helper()
	resp, b := d.doJSON("POST", "/containers/"+ctr+"/exec", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("exec create: %d %s", resp.StatusCode, b)
	}
	_, rest, _ := strings.Cut(string(b), `"Id":"`)
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// dialWS opens a websocket to berthd's socket.
func (d *daemon) dialWS(t *testing.T, path string) *websocket.Conn {
	t.Helper()
	dialer := websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.Sock)
		},
		HandshakeTimeout: 10 * time.Second,
	}
	ws, resp, err := dialer.Dial("ws://berth"+path, nil)
	if err != nil {
		t.Fatalf("websocket %s: %v (%v)", path, err, resp)
	}
	return ws
}

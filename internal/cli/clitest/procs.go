package clitest

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"
)

// Program is a fake container or exec process. It reads the client's stdin
// and writes output like the real one would; its result is the exit status
// that wait and exec inspect report.
type Program func(p *Proc) int

// Proc is what a Program runs with.
type Proc struct {
	ID  string
	Cmd []string
	Tty bool
	// Stdin is the client's input: it ends when the client closes its
	// write side (or goes away); empty when stdin is not attached.
	Stdin io.Reader
	// Stdout and Stderr reach the client raw with a TTY and in docker's
	// multiplexed frames without.
	Stdout, Stderr io.Writer
	// Resize receives [height, width] from the resize routes; Signal the
	// signals of kill requests.
	Resize <-chan [2]uint
	Signal <-chan string
}

// proc is a fake process's server-side state.
type proc struct {
	id, container string
	cmd           []string
	tty           bool
	stdin         bool // attach stdin (exec: AttachStdin)
	resize        chan [2]uint
	signal        chan string
	attach        *hijacked
	started       bool
	exited        chan struct{}
	created       *container.CreateRequest // containers made by create
	status        int
}

type hijacked struct {
	conn  net.Conn
	r     *bufio.Reader
	stdin bool
	media string
}

type procs struct {
	mu         sync.Mutex
	containers map[string]*proc
	execs      map[string]*proc
	created    []container.CreateRequest
	n          int
}

func (ps *procs) init() {
	if ps.containers == nil {
		ps.containers, ps.execs = map[string]*proc{}, map[string]*proc{}
	}
}

func newProc(id string) *proc {
	return &proc{id: id, resize: make(chan [2]uint, 16), signal: make(chan string, 16), exited: make(chan struct{})}
}

// Created returns the bodies of the create requests received so far.
func (s *Server) Created() []container.CreateRequest {
	s.procs.mu.Lock()
	defer s.procs.mu.Unlock()
	return append([]container.CreateRequest(nil), s.procs.created...)
}

// container finds a process by ID or name: created here, or a running
// container of Data.Inspect (whose Program starts on first use).
func (s *Server) container(ref string) (*proc, bool) {
	s.procs.mu.Lock()
	defer s.procs.mu.Unlock()
	s.procs.init()
	if p, ok := s.procs.containers[ref]; ok {
		return p, true
	}
	c, ok := s.data.Inspect[ref]
	if !ok {
		return nil, false
	}
	p := newProc(ref)
	if c.Config != nil {
		p.cmd, p.tty = c.Config.Cmd, c.Config.Tty
	}
	p.started = c.State != nil && c.State.Running
	s.procs.containers[ref] = p
	return p, true
}

// serveProcs answers the create, start, wait, kill, attach, resize, pause,
// unpause, update and exec routes; it reports whether it did.
func (s *Server) serveProcs(w http.ResponseWriter, r *http.Request, parts []string) bool {
	if r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "containers" && parts[1] == "create" {
		var req container.CreateRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return true
		}
		s.procs.mu.Lock()
		s.procs.init()
		s.procs.n++
		id := fmt.Sprintf("%064x", s.procs.n)
		p := newProc(id)
		if req.Config != nil {
			p.cmd, p.tty = req.Cmd, req.Tty
		}
		p.created = &req
		s.procs.containers[id] = p
		if name := r.URL.Query().Get("name"); name != "" {
			s.procs.containers[name] = p
		}
		s.procs.created = append(s.procs.created, req)
		s.procs.mu.Unlock()
		writeJSON(w, http.StatusCreated, container.CreateResponse{ID: id, Warnings: []string{}})
		return true
	}
	if len(parts) == 3 && parts[0] == "containers" && parts[2] == "json" && r.Method == http.MethodGet {
		return s.inspectCreated(w, parts[1])
	}
	if len(parts) == 3 && parts[0] == "exec" {
		s.serveExec(w, r, parts[1], parts[2])
		return true
	}
	if len(parts) != 3 || parts[0] != "containers" || r.Method != http.MethodPost {
		return false
	}
	switch parts[2] {
	case "start", "wait", "kill", "attach", "resize", "pause", "unpause", "update", "exec":
	default:
		return false
	}
	p, ok := s.container(parts[1])
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such container: " + parts[1]})
		return true
	}
	q := r.URL.Query()
	switch parts[2] {
	case "start":
		s.procs.mu.Lock()
		already := p.started
		p.started = true
		s.procs.mu.Unlock()
		if already {
			w.WriteHeader(http.StatusNotModified)
			return true
		}
		go s.run(p, s.data.Program)
		w.WriteHeader(http.StatusNoContent)
	case "wait":
		// As the daemon: the headers go at once, the body at the exit.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-p.exited:
		case <-r.Context().Done():
			return true
		}
		json.NewEncoder(w).Encode(container.WaitResponse{StatusCode: int64(p.status)})
	case "kill":
		p.signal <- q.Get("signal")
		w.WriteHeader(http.StatusNoContent)
	case "resize":
		pushResize(p, q.Get("h"), q.Get("w"))
		w.WriteHeader(http.StatusOK)
	case "pause", "unpause":
		w.WriteHeader(http.StatusNoContent)
	case "update":
		writeJSON(w, http.StatusOK, container.UpdateResponse{Warnings: s.data.UpdateWarnings})
	case "attach":
		h, err := hijack(w, r, p.tty)
		if err != nil {
			return true
		}
		h.stdin = q.Get("stdin") == "1"
		// The stream is the process's before the client, told it is
		// upgraded, can start it.
		s.procs.mu.Lock()
		p.attach = h
		running := p.started
		s.procs.mu.Unlock()
		h.upgraded()
		if running {
			// Attached to a running container: it runs from now on.
			go s.run(p, s.data.Program)
		}
	case "exec":
		var req container.ExecCreateRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return true
		}
		s.procs.mu.Lock()
		running := p.started && !closed(p.exited)
		var id string
		if running {
			s.procs.n++
			id = fmt.Sprintf("e%063x", s.procs.n)
			e := newProc(id)
			e.container, e.cmd, e.tty, e.stdin = p.id, req.Cmd, req.Tty, req.AttachStdin
			s.procs.execs[id] = e
		}
		s.procs.mu.Unlock()
		if !running {
			writeJSON(w, http.StatusConflict, map[string]string{"message": "container " + parts[1] + " is not running"})
			return true
		}
		writeJSON(w, http.StatusCreated, container.ExecCreateResponse{ID: id})
	}
	return true
}

// inspectCreated answers inspect for containers made by create.
func (s *Server) inspectCreated(w http.ResponseWriter, ref string) bool {
	s.procs.mu.Lock()
	s.procs.init()
	p, ok := s.procs.containers[ref]
	s.procs.mu.Unlock()
	if !ok || p.created == nil {
		return false
	}
	s.procs.mu.Lock()
	st := &container.State{Running: p.started && !closed(p.exited)}
	if closed(p.exited) {
		st.Status, st.ExitCode = container.StateExited, p.status
	} else if st.Running {
		st.Status = container.StateRunning
	} else {
		st.Status = container.StateCreated
	}
	s.procs.mu.Unlock()
	writeJSON(w, http.StatusOK, container.InspectResponse{ID: p.id, State: st, Config: p.created.Config, HostConfig: p.created.HostConfig})
	return true
}

func (s *Server) serveExec(w http.ResponseWriter, r *http.Request, id, verb string) {
	s.procs.mu.Lock()
	e, ok := s.procs.execs[id]
	s.procs.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such exec instance: " + id})
		return
	}
	switch verb {
	case "start":
		var req container.ExecStartRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		s.procs.mu.Lock()
		e.started = true
		s.procs.mu.Unlock()
		if req.Detach {
			go s.run(e, s.data.ExecProgram)
			writeJSON(w, http.StatusOK, struct{}{})
			return
		}
		h, err := hijack(w, r, e.tty)
		if err != nil {
			return
		}
		h.stdin = e.stdin
		s.procs.mu.Lock()
		e.attach = h
		s.procs.mu.Unlock()
		h.upgraded()
		go s.run(e, s.data.ExecProgram)
	case "resize":
		pushResize(e, r.URL.Query().Get("h"), r.URL.Query().Get("w"))
		w.WriteHeader(http.StatusOK)
	case "json":
		s.procs.mu.Lock()
		resp := container.ExecInspectResponse{ID: e.id, ContainerID: e.container, Running: e.started && !closed(e.exited)}
		if closed(e.exited) {
			code := e.status
			resp.ExitCode = &code
		}
		s.procs.mu.Unlock()
		writeJSON(w, http.StatusOK, resp)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
	}
}

// run runs prog for p over its attach stream (output discarded without
// one), then ends the stream and records the exit.
func (s *Server) run(p *proc, prog Program) {
	s.procs.mu.Lock()
	h := p.attach
	s.procs.mu.Unlock()
	pr := &Proc{ID: p.id, Cmd: p.cmd, Tty: p.tty, Resize: p.resize, Signal: p.signal,
		Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}
	if h != nil {
		if h.stdin {
			pr.Stdin = h.r
		}
		if p.tty {
			pr.Stdout, pr.Stderr = h.conn, h.conn
		} else {
			pr.Stdout, pr.Stderr = &frameWriter{w: h.conn, stream: 1}, &frameWriter{w: h.conn, stream: 2}
		}
	}
	status := 0
	if prog != nil {
		status = prog(pr)
	}
	// The exit is recorded before the stream ends, as berthd does.
	s.procs.mu.Lock()
	p.status = status
	close(p.exited)
	s.procs.mu.Unlock()
	if h != nil {
		h.conn.Close()
	}
}

// hijack takes over the connection as the Engine API does for attach and
// exec start; upgraded then answers 101 UPGRADED, after which the raw or
// multiplexed stream flows.
func hijack(w http.ResponseWriter, r *http.Request, tty bool) (*hijacked, error) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return nil, err
	}
	media := "application/vnd.docker.multiplexed-stream"
	if tty {
		media = "application/vnd.docker.raw-stream"
	}
	return &hijacked{conn: conn, r: rw.Reader, media: media}, nil
}

func (h *hijacked) upgraded() {
	fmt.Fprintf(h.conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", h.media)
}

func pushResize(p *proc, h, w string) {
	hh, _ := strconv.ParseUint(h, 10, 32)
	ww, _ := strconv.ParseUint(w, 10, 32)
	select {
	case p.resize <- [2]uint{uint(hh), uint(ww)}:
	default:
	}
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// frameWriter writes docker's multiplexed frames: stream, three zero
// bytes, the big-endian payload length, the payload.
type frameWriter struct {
	w      io.Writer
	stream byte
}

func (f *frameWriter) Write(b []byte) (int, error) {
	buf := make([]byte, 8, 8+len(b))
	buf[0] = f.stream
	binary.BigEndian.PutUint32(buf[4:], uint32(len(b)))
	if _, err := f.w.Write(append(buf, b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/oci"
	"github.com/berth-engine/berth/internal/shim"
	"github.com/berth-engine/berth/internal/shim/shimapi"
	"github.com/berth-engine/berth/internal/streams"
)

// Execs live in memory, as in dockerd: an exec is created, started once
// through the container's shim (which runs the runtime's exec, is the
// process's reaper and serves its stdio), and inspected for its exit code.
// Records go with their container.

// execRecord is one exec. Fields after mu are guarded by it.
type execRecord struct {
	id, containerID string
	req             ctypes.ExecCreateRequest

	mu       sync.Mutex
	started  bool
	running  bool
	pid      int
	exitCode *int
}

func (e *execRecord) inspect() *ctypes.ExecInspectResponse {
	e.mu.Lock()
	defer e.mu.Unlock()
	entry, args := "", []string{}
	if len(e.req.Cmd) > 0 {
		entry, args = e.req.Cmd[0], append(args, e.req.Cmd[1:]...)
	}
	priv := e.req.Privileged
	var code *int
	if e.exitCode != nil {
		v := *e.exitCode
		code = &v
	}
	keys, _ := streams.ParseDetachKeys(e.req.DetachKeys)
	if e.req.DetachKeys == "" {
		keys = nil
	}
	return &ctypes.ExecInspectResponse{
		ID: e.id, Running: e.running, ExitCode: code, Pid: e.pid,
		ProcessConfig: &ctypes.ExecProcessConfig{
			Tty: e.req.Tty, Entrypoint: entry, Arguments: args, Privileged: &priv, User: e.req.User,
		},
		OpenStdin: e.req.AttachStdin, OpenStdout: e.req.AttachStdout, OpenStderr: e.req.AttachStderr,
		CanRemove: false, ContainerID: e.containerID, DetachKeys: keys,
	}
}

// execSet indexes execs by ID.
type execSet struct {
	mu    sync.Mutex
	m     map[string]*execRecord
	bases map[string]execBase // by container ID
}

// execBase is what a container's execs derive their process from: its own
// process as the spec of its current run has it, and the host's facts
// then. Kept from the start, so that an exec neither reads nor decodes the
// whole spec (mounts, seccomp profile) from the bundle.
type execBase struct {
	proc *specs.Process
	host *oci.Host
}

func (s *execSet) setBase(id string, b execBase) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bases == nil {
		s.bases = map[string]execBase{}
	}
	s.bases[id] = b
}

func (s *execSet) base(id string) (execBase, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bases[id]
	return b, ok
}

func (s *execSet) add(e *execRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*execRecord{}
	}
	s.m[e.id] = e
}

func (s *execSet) get(id string) (*execRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[id]; ok {
		return e, nil
	}
	return nil, errdefs.New(errdefs.ErrNotFound, "No such exec instance: "+id)
}

// dropContainer forgets the execs of a removed container.
func (s *execSet) dropContainer(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bases, id)
	for k, e := range s.m {
		if e.containerID == id {
			delete(s.m, k)
		}
	}
}

func newExecID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// ContainerExecCreate registers an exec in a running container.
func (d *Daemon) ContainerExecCreate(ctx context.Context, idOrName string, req *ctypes.ExecCreateRequest) (string, error) {
	if req == nil || len(req.Cmd) == 0 {
		return "", errdefs.New(errdefs.ErrInvalidParameter, "No exec command specified")
	}
	if _, err := streams.ParseDetachKeys(req.DetachKeys); err != nil {
		return "", errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	for _, kv := range req.Env {
		if strings.HasPrefix(kv, "=") || kv == "" {
			return "", errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid environment variable: %q", kv))
		}
	}
	c, err := d.getContainer(idOrName)
	if err != nil {
		return "", err
	}
	c.Lock()
	if err := c.CanExec(); err != nil {
		c.Unlock()
		return "", classify(err)
	}
	e := &execRecord{id: newExecID(), containerID: c.ID, req: *req}
	d.execs.add(e)
	c.ExecIDs = append(c.ExecIDs, e.id)
	d.logContainerEventLocked(c, eventtypes.Action(string(eventtypes.ActionExecCreate)+": "+strings.Join(req.Cmd, " ")), map[string]string{"execID": e.id})
	c.Unlock()
	return e.id, nil
}

// ContainerExecInspect returns an exec in docker's shape.
func (d *Daemon) ContainerExecInspect(ctx context.Context, execID string) (*ctypes.ExecInspectResponse, error) {
	e, err := d.execs.get(execID)
	if err != nil {
		return nil, err
	}
	return e.inspect(), nil
}

// ContainerExecResize sets the terminal size of a running exec.
func (d *Daemon) ContainerExecResize(ctx context.Context, execID string, height, width uint) error {
	e, err := d.execs.get(execID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	running := e.running
	e.mu.Unlock()
	if !running {
		return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("Exec %s is not running, so it can not be resized.", execID))
	}
	if height == 0 || width == 0 {
		return nil // as ContainerResize: dockerd answers 200
	}
	cl, err := d.shimOf(ctx, e.containerID)
	if err != nil {
		return err
	}
	return shimError(cl.Resize(ctx, execID, uint16(width), uint16(height)))
}

// ContainerExecStart runs an exec once: detached, it returns when the
// process runs; otherwise it streams the process's stdio over the
// hijacked connection and returns when the process has exited (its exit
// code is recorded before the client's stream ends, so the inspect the
// docker CLI makes next sees it).
func (d *Daemon) ContainerExecStart(ctx context.Context, execID string, cfg streams.ExecStartConfig) error {
	e, err := d.execs.get(execID)
	if err != nil {
		return err
	}
	// As for attach: after the hijack the request's context says nothing
	// about the client (net/http cancels it at the client's half-close).
	ctx = context.WithoutCancel(ctx)
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		if e.exitCode != nil {
			return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("Error: Exec command %s has already run", execID))
		}
		return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("Error: Exec command %s is already running", execID))
	}
	e.started = true
	e.mu.Unlock()
	keys, _ := streams.ParseDetachKeys(e.req.DetachKeys)

	c, err := d.getContainer(e.containerID)
	if err != nil {
		return err
	}
	c.Lock()
	if err := c.CanExec(); err != nil {
		c.Unlock()
		return classify(err)
	}
	c.Unlock()
	req := e.req
	if cfg.ConsoleSize != [2]uint{} {
		cs := cfg.ConsoleSize
		req.ConsoleSize = &cs
	}
	proc, err := d.execProcess(c, &req)
	if err != nil {
		return err
	}
	// The container runs, so its shim serves: no state round trip
	// first (shimOf); a shim gone meanwhile fails the exec request.
	cl := shim.NewClient(shimapi.SocketPath(d.cfg.ExecRoot, c.ID))
	attach := !cfg.Detach && (req.AttachStdin || req.AttachStdout || req.AttachStderr)
	opts := shim.ExecOpts{Terminal: req.Tty, Stdin: req.AttachStdin && !cfg.Detach}
	var conn streams.Conn
	if attach {
		opts.Attach = &shim.AttachOpts{
			Stdin: req.AttachStdin, Stdout: req.AttachStdout, Stderr: req.AttachStderr,
			CloseStdin: !req.Tty, // as for attach: never under a TTY
		}
		// As dockerd: the stream is the client's before the process
		// starts, so a failure to start is reported on it.
		if conn, err = cfg.Hijack(req.Tty); err != nil {
			return err
		}
	}
	pid, stream, err := cl.Exec(ctx, execID, proc, opts)
	if err != nil {
		// The process never ran: 127 when the command was not found, else
		// 126 ("cannot invoke"), as dockerd records it. The runtime's
		// message is all there is to tell them apart.
		code := 126
		if msg := err.Error(); strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") {
			code = 127
		}
		e.mu.Lock()
		e.exitCode = &code
		e.mu.Unlock()
		if conn == nil {
			return shimError(err)
		}
		msg := []byte("OCI runtime exec failed: " + err.Error() + "\r\n")
		if req.Tty {
			_, _ = conn.Write(msg)
		} else {
			_ = streams.WriteFrame(conn, streams.Stdout, msg)
		}
		conn.Close()
		return nil
	}
	e.mu.Lock()
	e.running, e.pid = true, pid
	e.mu.Unlock()
	d.LogContainerEvent(c, eventtypes.Action(string(eventtypes.ActionExecStart)+": "+strings.Join(req.Cmd, " ")), map[string]string{"execID": execID})

	// The exit is recorded by one waiter, whatever happens to the client.
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		wctx := context.WithoutCancel(ctx)
		code := 255
		if exit, err := cl.WaitExec(wctx, execID); err == nil {
			code = exit.Code
		} else {
			log.G(ctx).Warn("exec wait", "exec", execID, "err", err)
		}
		e.mu.Lock()
		e.running, e.exitCode = false, &code
		e.mu.Unlock()
		d.LogContainerEvent(c, eventtypes.ActionExecDie, map[string]string{"execID": execID, "exitCode": strconv.Itoa(code)})
	}()
	if !attach {
		if stream != nil {
			stream.Close()
		}
		return nil
	}
	relay(ctx, conn, stream, req.Tty, req.AttachStdin, keys, nil, func() {
		// The output ended with the process: have the exit code in place
		// before the client sees the end of the stream.
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
	})
	return nil
}

// execProcess builds the exec's OCI process from the container's own: the
// one its start kept, else (after a daemon restart) the spec in its bundle.
func (d *Daemon) execProcess(c *container.Container, req *ctypes.ExecCreateRequest) (*specs.Process, error) {
	if b, ok := d.execs.base(c.ID); ok {
		p, err := oci.ExecProcess(b.proc, d.rootfsDir(c.ID), req, b.host)
		return p, classify(err)
	}
	data, err := os.ReadFile(filepath.Join(d.bundleDir(c.ID), "config.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the spec of container %s: %w", c.ID, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("the spec of container %s: %w", c.ID, err)
	}
	host, _, err := d.hostDefaults()
	if err != nil {
		return nil, err
	}
	p, err := oci.ExecProcess(spec.Process, d.rootfsDir(c.ID), req, host)
	return p, classify(err)
}

// shimError gives a shim's refusal an errdefs class.
func shimError(err error) error {
	var se *shimapi.Error
	if errors.As(err, &se) {
		switch se.Kind {
		case shimapi.ErrKindInvalid:
			return errdefs.New(errdefs.ErrInvalidParameter, se.Msg)
		case shimapi.ErrKindNotRunning, shimapi.ErrKindRunning:
			return errdefs.New(errdefs.ErrConflict, se.Msg)
		case shimapi.ErrKindNotImplemented:
			return errdefs.New(errdefs.ErrNotImplemented, se.Msg)
		}
	}
	return err
}

// killExec signals a running exec (health check timeouts).
func (d *Daemon) killExec(ctx context.Context, cl *shim.Client, execID string) {
	_ = cl.KillExec(ctx, execID, syscall.SIGKILL)
}

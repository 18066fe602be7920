package shim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/shim/shimapi"
)

// AttachOpts choose the streams of an attach (shimapi.OpAttach).
type AttachOpts struct {
	Stdin, Stdout, Stderr bool
	// CloseStdin closes the process's stdin when this client's stdin
	// ends (docker's StdinOnce).
	CloseStdin bool
	// ExecID attaches to an exec'd process instead of the init.
	ExecID string
}

// ExecOpts say how to run an exec'd process.
type ExecOpts struct {
	Terminal bool // a pty; proc.Terminal is set to match
	Stdin    bool // keep its stdin open
	// Attach, when set, turns the exec's connection into its attach
	// stream, so no output is lost between the start and the attach.
	Attach *AttachOpts
}

// Stream is an attach connection. Read yields docker's multiplexed frames
// (8-byte header, payload; all stream 1 with a terminal) and io.EOF once
// the process has exited and all its output was delivered; Write sends
// stdin; CloseWrite ends this client's stdin.
type Stream struct {
	conn *net.UnixConn
	r    *bufio.Reader
	stop func() bool
	once sync.Once
}

func (s *Stream) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *Stream) Write(p []byte) (int, error) { return s.conn.Write(p) }

// CloseWrite half-closes the connection: the shim sees this client's stdin
// end.
func (s *Stream) CloseWrite() error { return s.conn.CloseWrite() }

// Close ends the stream.
func (s *Stream) Close() error {
	var err error
	s.once.Do(func() {
		s.stop()
		err = s.conn.Close()
	})
	return err
}

// open sends req and reads the response line; on success the connection
// stays open (with its reader) for a stream. Cancelling ctx closes it.
func (c *Client) open(ctx context.Context, req shimapi.Request) (*shimapi.Response, *Stream, error) {
	req.Version = shimapi.Version
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, nil, fmt.Errorf("shim %s: %w", c.socket, err)
	}
	conn := nc.(*net.UnixConn)
	s := &Stream{conn: conn, r: bufio.NewReader(conn)}
	s.stop = context.AfterFunc(ctx, func() { conn.Close() })
	data, _ := json.Marshal(req)
	if _, err := conn.Write(append(data, '\n')); err != nil {
		s.Close()
		return nil, nil, c.ioErr(ctx, err)
	}
	line, err := s.r.ReadBytes('\n')
	if err != nil {
		s.Close()
		return nil, nil, c.ioErr(ctx, err)
	}
	var resp shimapi.Response
	if err := json.Unmarshal(line, &resp); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("shim %s: %w", c.socket, err)
	}
	if resp.Error != "" {
		s.Close()
		return nil, nil, &shimapi.Error{Kind: resp.Kind, Msg: resp.Error}
	}
	return &resp, s, nil
}

// Attach opens an attach stream to the init, or to opts.ExecID.
func (c *Client) Attach(ctx context.Context, opts AttachOpts) (*Stream, error) {
	_, s, err := c.open(ctx, shimapi.Request{
		Op: shimapi.OpAttach, ExecID: opts.ExecID, Stdin: opts.Stdin, Stdout: opts.Stdout,
		Stderr: opts.Stderr, CloseStdin: opts.CloseStdin,
	})
	return s, err
}

var fileSeq atomic.Int64

// validExecID is the shim's rule for exec ids (shimapi.OpExec).
var validExecID = regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,64}$`)

// writeShimFile writes v as JSON into the shim's directory, where the shim
// (which may run the runtime in another mount namespace view, never the
// client's temp dir) can read it.
func (c *Client) writeShimFile(prefix string, v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(c.socket), prefix+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(fileSeq.Add(1), 10)+".json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", err
	}
	return p, nil
}

// Exec runs proc in the running container as execID and returns its host
// pid; with opts.Attach, also its attach stream (from before it started).
func (c *Client) Exec(ctx context.Context, execID string, proc *specs.Process, opts ExecOpts) (int, *Stream, error) {
	if proc == nil {
		return 0, nil, errors.New("shim: exec without a process")
	}
	// The id names files in the shim's directory: check it here too,
	// before this side writes one.
	if !validExecID.MatchString(execID) {
		return 0, nil, &shimapi.Error{Kind: shimapi.ErrKindInvalid, Msg: fmt.Sprintf("exec id %q: want 1-64 of [A-Za-z0-9_.+-]", execID)}
	}
	p := *proc
	p.Terminal = opts.Terminal
	path, err := c.writeShimFile("exec-"+execID+"-", &p)
	if err != nil {
		return 0, nil, err
	}
	defer os.Remove(path)
	// The shim opens the exec's stdin when Stdin is set, and streams
	// when any of stdin/stdout/stderr is: without Attach, the stream
	// (stdin only) is closed at once, leaving the stdin open for a later
	// Attach.
	req := shimapi.Request{Op: shimapi.OpExec, ExecID: execID, Path: path, Terminal: opts.Terminal, Stdin: opts.Stdin}
	if a := opts.Attach; a != nil {
		req.Stdout, req.Stderr, req.CloseStdin = a.Stdout, a.Stderr, a.CloseStdin && opts.Stdin
	}
	resp, s, err := c.open(ctx, req)
	if err != nil {
		return 0, nil, err
	}
	if opts.Attach == nil || (!req.Stdin && !req.Stdout && !req.Stderr) {
		s.Close()
		return resp.Pid, nil, nil
	}
	return resp.Pid, s, nil
}

// StateExec returns the state of exec execID.
func (c *Client) StateExec(ctx context.Context, execID string) (*shimapi.State, error) {
	r, err := c.call(ctx, shimapi.Request{Op: shimapi.OpState, ExecID: execID})
	if err != nil {
		return nil, err
	}
	if r.State == nil {
		return nil, errors.New("shim: state response without a state")
	}
	return r.State, nil
}

// WaitExec blocks until exec execID has exited and its output is delivered.
func (c *Client) WaitExec(ctx context.Context, execID string) (*shimapi.Exit, error) {
	r, err := c.call(ctx, shimapi.Request{Op: shimapi.OpWait, ExecID: execID})
	if err != nil {
		return nil, err
	}
	if r.Exit == nil {
		return nil, errors.New("shim: wait ended without an exit status")
	}
	return r.Exit, nil
}

// KillExec sends sig to exec execID.
func (c *Client) KillExec(ctx context.Context, execID string, sig syscall.Signal) error {
	_, err := c.call(ctx, shimapi.Request{Op: shimapi.OpKill, ExecID: execID, Signal: int(sig)})
	return err
}

// Pause freezes the container.
func (c *Client) Pause(ctx context.Context) error {
	_, err := c.call(ctx, shimapi.Request{Op: shimapi.OpPause})
	return err
}

// Resume thaws the container.
func (c *Client) Resume(ctx context.Context) error {
	_, err := c.call(ctx, shimapi.Request{Op: shimapi.OpResume})
	return err
}

// Update applies new resource limits to the running container.
func (c *Client) Update(ctx context.Context, r *specs.LinuxResources) error {
	if r == nil {
		return errors.New("shim: update without resources")
	}
	path, err := c.writeShimFile("update-", r)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	_, err = c.call(ctx, shimapi.Request{Op: shimapi.OpUpdate, Path: path})
	return err
}

// Resize sets the terminal size of the init, or of exec execID.
func (c *Client) Resize(ctx context.Context, execID string, width, height uint16) error {
	_, err := c.call(ctx, shimapi.Request{Op: shimapi.OpResize, ExecID: execID, Width: width, Height: height})
	return err
}

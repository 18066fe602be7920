package shim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth-engine/berth/internal/shim/shimapi"
)

// Options say how to start a shim for one container.
type Options struct {
	ID          string
	Bundle      string
	ExecRoot    string            // the shim's directory is shimapi.Dir(ExecRoot, ID)
	RuntimeRoot string            // the runtime's state root; <ExecRoot>/runtime when empty
	LogPath     string            // json-file path
	LogOpts     map[string]string // json-file log-opts (max-size, max-file)
	LogDriver   string            // "json-file" (when empty) or "none"
	// Runtime is the OCI runtime binary (runc's command line); when
	// empty, berth-runtime beside the running executable, else from $PATH.
	Runtime string
	// Terminal: the bundle's process.terminal is true; the shim holds
	// the pty master (passed by the runtime over --console-socket).
	Terminal bool
	// Stdin keeps a pipe to the init's stdin open for attach (docker's
	// OpenStdin); otherwise its stdin is /dev/null.
	Stdin bool
	// Command is the shim's argv before its flags; when empty, berth-shim
	// beside the running executable, else from $PATH.
	Command []string
}

// Client talks to one shim. Every call opens its own connection, so calls
// may run concurrently (a Wait does not block a Kill).
type Client struct {
	socket  string
	pid     int // the init's pid
	shimPid int
}

// ErrShimExists is returned by Start when a live shim already serves the ID.
var ErrShimExists = errors.New("a shim is already running for this container")

// Start spawns a shim for opts.ID in its own session (it outlives the
// caller), waits until it has created the container — not started it: call
// Client.Start — and connects. The caller reaps the shim if it exits while
// the caller lives; once the caller is gone, init reaps it.
func Start(ctx context.Context, opts Options) (*Client, error) {
	if opts.ID == "" || opts.Bundle == "" || opts.ExecRoot == "" || (opts.LogPath == "" && opts.LogDriver != "none") {
		return nil, errors.New("shim: ID, Bundle, ExecRoot and LogPath (for json-file) are required")
	}
	dir := shimapi.Dir(opts.ExecRoot, opts.ID)
	sock := shimapi.SocketPath(opts.ExecRoot, opts.ID)
	if _, err := Connect(ctx, sock); err == nil {
		return nil, fmt.Errorf("shim %s: %w", opts.ID, ErrShimExists)
	}
	// A dead shim's leftovers (socket, old exit file) must not be mistaken
	// for the new container's.
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	argv := opts.Command
	if len(argv) == 0 {
		bin, err := besideOrPath("berth-shim")
		if err != nil {
			return nil, err
		}
		argv = []string{bin}
	}
	runtime := opts.Runtime
	if runtime == "" {
		var err error
		if runtime, err = besideOrPath("berth-runtime"); err != nil {
			return nil, fmt.Errorf("shim %s: OCI runtime: %w", opts.ID, err)
		}
	}
	logDriver := opts.LogDriver
	if logDriver == "" {
		logDriver = "json-file"
	}
	rtRoot := opts.RuntimeRoot
	if rtRoot == "" {
		rtRoot = filepath.Join(opts.ExecRoot, "runtime")
	}
	args := append(argv[1:len(argv):len(argv)],
		"--id", opts.ID, "--bundle", opts.Bundle, "--exec-root", opts.ExecRoot,
		"--runtime-root", rtRoot, "--runtime", runtime, "--log-driver", logDriver,
		"--log-path", opts.LogPath, "--sync-fd", "3")
	if opts.Terminal {
		args = append(args, "--terminal")
	}
	if opts.Stdin {
		args = append(args, "--stdin")
	}
	for k, v := range opts.LogOpts {
		args = append(args, "--log-opt", k+"="+v)
	}
	shimLog, err := os.OpenFile(filepath.Join(dir, "shim.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer shimLog.Close()
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer syncR.Close()
	// Not CommandContext: cancelling ctx must not kill a shim that started.
	cmd := exec.Command(argv[0], args...)
	cmd.Stdout, cmd.Stderr = shimLog, shimLog
	cmd.ExtraFiles = []*os.File{syncW}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	syncW.Close()
	if err != nil {
		return nil, fmt.Errorf("shim %s: %w", opts.ID, err)
	}
	go cmd.Wait() //nolint:errcheck // only reaps

	type result struct {
		s   shimapi.Sync
		err error
	}
	got := make(chan result, 1)
	go func() {
		var r result
		line, err := bufio.NewReader(syncR).ReadBytes('\n')
		if err != nil {
			r.err = fmt.Errorf("shim exited before reporting (see %s): %w", filepath.Join(dir, "shim.log"), err)
		} else {
			r.err = json.Unmarshal(line, &r.s)
		}
		got <- r
	}()
	var r result
	select {
	case r = <-got:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, fmt.Errorf("shim %s: %w", opts.ID, r.err)
	}
	if r.s.Error != "" {
		return nil, fmt.Errorf("shim %s: %s", opts.ID, r.s.Error)
	}
	return &Client{socket: sock, pid: r.s.Pid, shimPid: cmd.Process.Pid}, nil
}

// besideOrPath finds name beside the running executable, else in $PATH.
func besideOrPath(name string) (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

// Connect reaches the shim listening on socket (after a daemon restart, say)
// and reads its state. When the shim is gone, the error wraps
// syscall.ECONNREFUSED or os.ErrNotExist; ReadExitFile then tells how the
// container ended if the shim recorded it.
func Connect(ctx context.Context, socket string) (*Client, error) {
	c := &Client{socket: socket}
	st, err := c.State(ctx)
	if err != nil {
		return nil, err
	}
	c.pid, c.shimPid = st.Pid, st.ShimPid
	return c, nil
}

// NewClient is a client for the shim listening on socket, without the
// state round trip of Connect: for a caller that knows the shim serves (its
// container runs). Pid and ShimPid are 0; a shim that is gone fails the
// first call as Connect would.
func NewClient(socket string) *Client { return &Client{socket: socket} }

// ReadExitFile returns the exit status the shim of id recorded, for when the
// shim is gone; it wraps os.ErrNotExist when there is none.
func ReadExitFile(execRoot, id string) (*shimapi.Exit, error) {
	return shimapi.ReadExitFile(shimapi.ExitPath(execRoot, id))
}

// Pid is the container init's host pid.
func (c *Client) Pid() int { return c.pid }

// ShimPid is the shim's pid.
func (c *Client) ShimPid() int { return c.shimPid }

// Socket is the shim's socket path.
func (c *Client) Socket() string { return c.socket }

// call sends one request and reads its response. Cancelling ctx closes the
// connection, which also ends a shim-side wait.
func (c *Client) call(ctx context.Context, req shimapi.Request) (*shimapi.Response, error) {
	req.Version = shimapi.Version
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, fmt.Errorf("shim %s: %w", c.socket, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	data, _ := json.Marshal(req)
	if _, err := conn.Write(append(data, '\n')); err != nil {
		return nil, c.ioErr(ctx, err)
	}
	var resp shimapi.Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return nil, c.ioErr(ctx, err)
	}
	if resp.Error != "" {
		return nil, &shimapi.Error{Kind: resp.Kind, Msg: resp.Error}
	}
	return &resp, nil
}

func (c *Client) ioErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("shim %s: %w", c.socket, err)
}

// State returns the container's state as the shim sees it.
func (c *Client) State(ctx context.Context) (*shimapi.State, error) {
	r, err := c.call(ctx, shimapi.Request{Op: shimapi.OpState})
	if err != nil {
		return nil, err
	}
	if r.State == nil {
		return nil, errors.New("shim: state response without a state")
	}
	return r.State, nil
}

// Start starts the created container.
func (c *Client) Start(ctx context.Context) error {
	_, err := c.call(ctx, shimapi.Request{Op: shimapi.OpStart})
	return err
}

// Wait blocks until the container's init has exited and its output is in the
// log, or ctx is done.
func (c *Client) Wait(ctx context.Context) (*shimapi.Exit, error) {
	r, err := c.call(ctx, shimapi.Request{Op: shimapi.OpWait})
	if err != nil {
		return nil, err
	}
	if r.Exit == nil {
		return nil, errors.New("shim: wait ended without an exit status")
	}
	return r.Exit, nil
}

// Kill sends sig to the init, or with all to every process of the container.
// The error is a *shimapi.Error of kind ErrKindNotRunning after the exit.
func (c *Client) Kill(ctx context.Context, sig syscall.Signal, all bool) error {
	_, err := c.call(ctx, shimapi.Request{Op: shimapi.OpKill, Signal: int(sig), All: all})
	return err
}

// Delete removes the container and the shim's directory, and the shim exits.
// Without force a running container is an error of kind ErrKindRunning. It
// returns the exit status.
func (c *Client) Delete(ctx context.Context, force bool) (*shimapi.Exit, error) {
	r, err := c.call(ctx, shimapi.Request{Op: shimapi.OpDelete, Force: force})
	if err != nil {
		return nil, err
	}
	return r.Exit, nil
}

// Shutdown makes the shim of an exited container exit, keeping its exit file.
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.call(ctx, shimapi.Request{Op: shimapi.OpShutdown})
	return err
}

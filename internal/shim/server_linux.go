package shim

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/logger"
	"github.com/berth-engine/berth/internal/logger/jsonfile"
	"github.com/berth-engine/berth/internal/runtime/container"
	"github.com/berth-engine/berth/internal/shim/shimapi"
)

// config is the shim's command line.
type config struct {
	id, bundle, execRoot, runtimeRoot, logPath string
	logOpts                                    map[string]string
	syncFd                                     int
}

func parseArgs(args []string) (config, error) {
	var c config
	c.logOpts = map[string]string{}
	fs := flag.NewFlagSet("berth-shim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.id, "id", "", "container ID")
	fs.StringVar(&c.bundle, "bundle", "", "OCI bundle directory")
	fs.StringVar(&c.execRoot, "exec-root", "", "berthd's exec root")
	fs.StringVar(&c.runtimeRoot, "runtime-root", "", "runtime state root")
	fs.StringVar(&c.logPath, "log-path", "", "json-file log path")
	fs.IntVar(&c.syncFd, "sync-fd", -1, "fd of the sync pipe (shimapi.Sync)")
	fs.Func("log-opt", "json-file option key=value", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("log-opt %q: want key=value", s)
		}
		c.logOpts[k] = v
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.id == "" || c.bundle == "" || c.execRoot == "" || c.runtimeRoot == "" || c.logPath == "" {
		return c, errors.New("--id, --bundle, --exec-root, --runtime-root and --log-path are required")
	}
	return c, container.ValidateID(c.id)
}

// server is one running shim.
type server struct {
	id, dir string
	c       *container.Container
	log     logger.Logger
	ln      *net.UnixListener

	exited chan struct{} // closed once exit is set and the exit file written
	mu     sync.Mutex
	exit   *shimapi.Exit
	ending bool          // a delete or shutdown is under way
	done   chan struct{} // closed when Main should return
}

// Main runs a shim: berth-shim --id ID --bundle DIR --exec-root DIR
// --runtime-root DIR --log-path FILE [--log-opt k=v ...] [--sync-fd N]; the
// sync pipe gets one shimapi.Sync line. It returns the process's exit
// code once the container is deleted or the shim is told to shut down.
func Main(args []string) int {
	var syncPipe *os.File
	report := func(s shimapi.Sync) {
		if syncPipe == nil {
			return
		}
		data, _ := json.Marshal(s)
		syncPipe.Write(append(data, '\n'))
		syncPipe.Close()
		syncPipe = nil
	}
	cfg, err := parseArgs(args)
	if cfg.syncFd >= 3 {
		// Not for the container's init to inherit.
		unix.CloseOnExec(cfg.syncFd)
		syncPipe = os.NewFile(uintptr(cfg.syncFd), "sync")
	}
	if err != nil {
		report(shimapi.Sync{Error: err.Error()})
		fmt.Fprintln(os.Stderr, "berth-shim:", err)
		return 2
	}
	s, err := start(cfg)
	if err != nil {
		report(shimapi.Sync{Error: err.Error()})
		fmt.Fprintln(os.Stderr, "berth-shim:", err)
		return 1
	}
	report(shimapi.Sync{Pid: s.c.Pid()})
	go s.serve()
	<-s.done
	return 0
}

// start creates the container and starts listening. On error nothing is
// left but the shim's directory.
func start(cfg config) (_ *server, retErr error) {
	dir := shimapi.Dir(cfg.execRoot, cfg.id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	opts, err := jsonfile.ParseOptions(cfg.logOpts)
	if err != nil {
		return nil, err
	}
	lg, err := jsonfile.New(cfg.logPath, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			lg.Close()
		}
	}()
	rt, err := container.New(container.Options{Root: cfg.runtimeRoot})
	if err != nil {
		return nil, err
	}
	sock := shimapi.SocketPath(cfg.execRoot, cfg.id)
	_ = os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			ln.Close()
		}
	}()
	if err := os.WriteFile(shimapi.PidPath(cfg.execRoot, cfg.id), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return nil, err
	}

	// The init gets the write ends; once it (and every process that
	// inherited them) is gone, the copies below see EOF.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	c, err := rt.Create(cfg.id, container.CreateOpts{Bundle: cfg.bundle, Stdin: null, Stdout: outW, Stderr: errW})
	null.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	s := &server{id: cfg.id, dir: dir, c: c, log: lg, ln: ln, exited: make(chan struct{}), done: make(chan struct{})}
	var copies sync.WaitGroup
	for _, p := range []struct {
		r      *os.File
		source string
	}{{outR, logger.Stdout}, {errR, logger.Stderr}} {
		copies.Add(1)
		go func() {
			defer copies.Done()
			_ = logger.Copy(p.r, p.source, lg)
			p.r.Close()
		}()
	}
	go s.monitor(&copies, shimapi.ExitPath(cfg.execRoot, cfg.id))
	return s, nil
}

// monitor reaps the init, lets the log catch up, and records the exit.
func (s *server) monitor(copies *sync.WaitGroup, exitPath string) {
	code, err := s.c.Wait()
	at := time.Now().UTC()
	if err != nil {
		code = 255 // someone else reaped it; the status is lost
	}
	// With its own pid namespace every process is gone with the init, and
	// the pipes close. A process in a shared namespace may hold them open:
	// do not let it hold up the exit status.
	drained := make(chan struct{})
	go func() { copies.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
	}
	e := shimapi.Exit{Code: code, At: at}
	if err := shimapi.WriteExitFile(exitPath, e); err != nil {
		fmt.Fprintln(os.Stderr, "berth-shim: write exit file:", err)
	}
	s.mu.Lock()
	s.exit = &e
	s.mu.Unlock()
	close(s.exited)
}

func (s *server) serve() {
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like
			continue
		}
		go s.handle(conn)
	}
}

func (s *server) handle(conn *net.UnixConn) {
	defer conn.Close()
	var req shimapi.Request
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		return
	}
	resp, after := s.dispatch(conn, &req)
	resp.Version = shimapi.Version
	data, _ := json.Marshal(resp)
	conn.Write(append(data, '\n'))
	if after != nil {
		after()
	}
}

func fail(kind shimapi.ErrKind, format string, a ...any) *shimapi.Response {
	return &shimapi.Response{Kind: kind, Error: fmt.Sprintf(format, a...)}
}

// dispatch answers req; after, when not nil, runs once the response is sent.
func (s *server) dispatch(conn *net.UnixConn, req *shimapi.Request) (_ *shimapi.Response, after func()) {
	if req.Version != shimapi.Version {
		return fail(shimapi.ErrKindVersion, "protocol version %d not supported (shim speaks %d)", req.Version, shimapi.Version), nil
	}
	switch req.Op {
	case shimapi.OpState:
		return &shimapi.Response{State: s.state()}, nil
	case shimapi.OpStart:
		if s.exitStatus() != nil {
			return fail(shimapi.ErrKindNotRunning, "container %s has exited", s.id), nil
		}
		if err := s.c.Start(); err != nil {
			return fail(shimapi.ErrKindInternal, "start: %v", err), nil
		}
		return &shimapi.Response{}, nil
	case shimapi.OpWait:
		// The client gives up by closing the connection.
		gone := make(chan struct{})
		go func() {
			buf := make([]byte, 64)
			for {
				if _, err := conn.Read(buf); err != nil {
					break
				}
			}
			close(gone)
		}()
		select {
		case <-s.exited:
			return &shimapi.Response{Exit: s.exitStatus()}, nil
		case <-gone:
			return &shimapi.Response{}, nil
		}
	case shimapi.OpKill:
		if req.Signal <= 0 || req.Signal > 64 {
			return fail(shimapi.ErrKindInvalid, "invalid signal %d", req.Signal), nil
		}
		if s.exitStatus() != nil {
			return fail(shimapi.ErrKindNotRunning, "container %s is not running", s.id), nil
		}
		if err := s.c.Signal(unix.Signal(req.Signal), req.All); err != nil {
			if errors.Is(err, container.ErrNotRunning) {
				return fail(shimapi.ErrKindNotRunning, "container %s is not running", s.id), nil
			}
			return fail(shimapi.ErrKindInternal, "kill: %v", err), nil
		}
		return &shimapi.Response{}, nil
	case shimapi.OpResize, shimapi.OpAttach:
		return fail(shimapi.ErrKindNotImplemented, "%s is not implemented yet", req.Op), nil
	case shimapi.OpDelete:
		return s.delete(req.Force)
	case shimapi.OpShutdown:
		if s.exitStatus() == nil {
			return fail(shimapi.ErrKindRunning, "container %s is running; the shim is its reaper", s.id), nil
		}
		if !s.end() {
			return fail(shimapi.ErrKindInvalid, "shim is already ending"), nil
		}
		// Unlinked before the answer, so no new client reaches a shim
		// that is going away; the listener stays open until then.
		os.Remove(filepath.Join(s.dir, "shim.sock"))
		os.Remove(filepath.Join(s.dir, "shim.pid"))
		return &shimapi.Response{Exit: s.exitStatus()}, s.finish
	}
	return fail(shimapi.ErrKindInvalid, "unknown op %q", req.Op), nil
}

func (s *server) delete(force bool) (*shimapi.Response, func()) {
	if s.exitStatus() == nil {
		if !force {
			return fail(shimapi.ErrKindRunning, "container %s is running: stop it or force the delete", s.id), nil
		}
		_ = s.c.Signal(unix.SIGKILL, true)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			return fail(shimapi.ErrKindInternal, "container %s did not die on SIGKILL", s.id), nil
		}
	}
	if !s.end() {
		return fail(shimapi.ErrKindInvalid, "shim is already ending"), nil
	}
	// The init is reaped, so the runtime sees it stopped: no force needed.
	if err := s.c.Delete(false); err != nil && !errors.Is(err, container.ErrNotExist) {
		s.mu.Lock()
		s.ending = false
		s.mu.Unlock()
		return fail(shimapi.ErrKindInternal, "delete: %v", err), nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fail(shimapi.ErrKindInternal, "delete: %v", err), s.finish
	}
	return &shimapi.Response{Exit: s.exitStatus()}, s.finish
}

// end claims the shim's ending for one delete or shutdown.
func (s *server) end() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ending {
		return false
	}
	s.ending = true
	return true
}

func (s *server) finish() {
	s.ln.Close()
	s.log.Close()
	close(s.done)
}

func (s *server) exitStatus() *shimapi.Exit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exit
}

func (s *server) state() *shimapi.State {
	st := &shimapi.State{ID: s.id, Pid: s.c.Pid(), ShimPid: os.Getpid()}
	if e := s.exitStatus(); e != nil {
		st.Status, st.Exit = shimapi.StatusStopped, e
		return st
	}
	switch s.c.Status() {
	case container.Created:
		st.Status = shimapi.StatusCreated
	case container.Paused:
		st.Status = shimapi.StatusPaused
	case container.Stopped:
		// Exited, not yet through monitor: the log is still draining.
		st.Status = shimapi.StatusRunning
	default:
		st.Status = shimapi.StatusRunning
	}
	return st
}

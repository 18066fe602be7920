package shimapi

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-engine/berth/internal/atomicfile"
)

// Version is the protocol version this package speaks. A shim answers a
// request whose Version it does not speak with ErrKindVersion and its own
// Version, so a newer daemon can fall back or refuse with a clear error.
// Additions (new ops, new optional fields) keep the number; a change of the
// meaning of a field or op bumps it.
const Version = 1

// The protocol. One request and one response per connection, each a single
// JSON object on one line (a request line is at most 64 KiB); a shim serves
// many connections at once, so a blocking wait never holds up a kill.
// "attach" and "exec" with attach bools turn the connection into a stream
// after the response line. The shim (cmd/berth-shim, a small C program)
// drives the OCI runtime as a binary with runc's command line, so runc or
// crun can stand in for berth-runtime (--runtime).
//
//	berthd                                   berth-shim                      runtime / container
//	  │ spawn berth-shim (setsid), fd 3 = sync pipe │                               │
//	  │───────────────────────────────────────────▶│ RUNTIME create --bundle B     │
//	  │                                            │  --pid-file F [--console-socket S] ID
//	  │                                            │──────────────────────────────▶│ init (waits on exec fifo)
//	  │                                            │ (pty master via SCM_RIGHTS when terminal)
//	  │                                            │ listen <exec-root>/shims/<id>/shim.sock
//	  │◀──────────── sync: {"pid":<init pid>} ─────│  (or {"error":"..."}; then the shim exits)
//	  │ connect ─ {"op":"attach","stdout":true,...}▶│                               │
//	  │◀─ {"version":1} then 8-byte mux frames ────│  from the moment of attach    │
//	  │ connect ──── {"version":1,"op":"start"} ──▶│ RUNTIME start ID ────────────▶│ execve
//	  │◀──────────── {"version":1} ────────────────│◀══ stdout/stderr pipes (pty) ═│
//	  │                                            │ ══▶ json-file log, attached clients
//	  │ connect ──── {"op":"wait"} ───────────────▶│                               │
//	  │  ...berthd may die here; a new one         │                               │
//	  │  reconnects and sends "state"/"wait"...    │                               │
//	  │ connect ─ {"op":"exec","exec_id":"e1",     │                               │
//	  │   "path":"<dir>/e1.json","stdout":true}───▶│ RUNTIME exec --process P --detach
//	  │                                            │  --pid-file F [--console-socket S] ID ─▶ process
//	  │◀─ {"version":1,"pid":N} then mux frames ───│◀══ the exec's own pipes (not logged)
//	  │◀─ EOF once the exec's output is drained ───│◀──────────── exit (reaped) ───│
//	  │ connect ──── {"op":"kill","signal":9} ────▶│ kill(2) ─────────────────────▶│
//	  │◀──────────── {"version":1} ────────────────│◀──────────── exit (reaped) ───│
//	  │                                            │ drain pipes (≤ 2 s), write "exit" file
//	  │◀── (wait) {"exit":{"code":137,"at":...}} ──│ attach streams get EOF; fsync the exit
//	  │                                            │ file (after the answers); keep serving
//	  │ connect ──── {"op":"delete"} ─────────────▶│ RUNTIME delete ID, remove its dir
//	  │◀──────────── {"exit":{...}} ───────────────│ exit(0)
//
// Spawn contract: berth-shim --id ID --bundle DIR --exec-root DIR
// --runtime-root DIR --runtime PATH [--log-driver json-file|none]
// --log-path FILE [--log-opt k=v]... [--terminal] [--stdin] --sync-fd 3.
// The shim is PR_SET_CHILD_SUBREAPER: the init and exec'd processes are
// reparented to it when the runtime exits, so it reaps them (128+signal for
// a signal) and ignores any other orphan it inherits. Runtime commands run
// one at a time and are killed after 60 s; an error carries the runtime's
// stderr.
//
// Requests are parsed strictly: one flat object whose values are strings,
// integers and booleans; a key the shim does not know is skipped when its
// value is a scalar. Garbage, a nested value, a duplicate key or a line over
// 64 KiB is answered with ErrKindInvalid and the connection closed; the shim
// keeps serving.
//
// Attach streams. Shim to client: docker's multiplexed frames, an 8-byte
// header [stream (1 stdout, 2 stderr), 0, 0, 0, uint32 big-endian length]
// and the payload, for output read after the attach; with a terminal all
// output is stream 1. Client to shim (with Stdin): raw bytes for the
// process's stdin (bytes sent right behind the request line count). A full
// pipe holds back that client only. The client's half-close (or hang-up)
// ends its stdin; with CloseStdin
// it also closes the process's stdin (docker's StdinOnce; with a terminal
// the shim writes ^D, a pty having no half-close). Once the process has
// exited and its output is drained the shim closes the stream, so EOF means
// all output was delivered. A client more than 1 MiB behind is disconnected;
// it never slows the log or other clients.
//
// If the shim itself died, ReadExitFile tells the status it recorded.

// Op names a request.
type Op string

// The ops. ExecID, where an op takes one, selects an exec'd process instead
// of the init; an unknown one is ErrKindNotFound.
const (
	// OpState returns the State of the init, or of ExecID. Always
	// answered. Paused is what the last pause/resume through this shim
	// did.
	OpState Op = "state"
	// OpStart starts a created container (RUNTIME start ID).
	OpStart Op = "start"
	// OpWait blocks until the init (or ExecID) has exited and its output
	// is in the log and sent to attached clients, then returns Exit.
	// Answered at once after exit. The client ends the wait by closing
	// the connection.
	OpWait Op = "wait"
	// OpKill sends Signal (1-64) to the init or ExecID with kill(2), or
	// with All to every process in the container (RUNTIME kill --all ID
	// SIG). ErrKindNotRunning once the process has exited.
	OpKill Op = "kill"
	// OpPause and OpResume freeze and thaw the container (RUNTIME pause
	// and resume ID). ErrKindNotRunning unless started and not exited.
	OpPause  Op = "pause"
	OpResume Op = "resume"
	// OpUpdate applies Path, a JSON specs.LinuxResources the client
	// wrote into the shim's directory (RUNTIME update -r Path ID).
	OpUpdate Op = "update"
	// OpResize sets the terminal size of the init or ExecID (TIOCSWINSZ
	// on the pty master). ErrKindInvalid without a terminal, and for a
	// zero Width or Height (refused always, never passed on).
	OpResize Op = "resize"
	// OpAttach streams the stdio of the init or ExecID (Stdin, Stdout,
	// Stderr, CloseStdin); see "Attach streams" above. Stdin is ignored
	// when the process has no open stdin. Attaching to a process whose
	// output is drained answers and closes at once.
	OpAttach Op = "attach"
	// OpExec runs Path (a process.json written by the client into the
	// shim's directory) in the running container as ExecID (1-64 of
	// [A-Za-z0-9_.+-], unused), with a pty when Terminal and an open
	// stdin when Stdin; its output is not logged (as docker). The
	// response carries Pid; with any attach bool the connection then
	// becomes that exec's attach stream, so no output is lost. Refused
	// with ErrKindPaused in a paused container and ErrKindNotRunning
	// before start or after the exit. The shim keeps up to 1024 exec
	// records until delete, dropping the oldest finished ones.
	OpExec Op = "exec"
	// OpDelete removes the container (with Force, a running one is killed
	// first; without, ErrKindRunning), the shim's directory with the
	// socket and exit file, and then the shim exits. The response carries
	// the Exit status, its last chance to be read.
	OpDelete Op = "delete"
	// OpShutdown makes the shim exit, leaving the container's state and
	// exit file; refused with ErrKindRunning while the init runs (the shim
	// is its reaper).
	OpShutdown Op = "shutdown"
)

// Request is what a client sends.
type Request struct {
	Version int    `json:"version"`
	Op      Op     `json:"op"`
	Signal  int    `json:"signal,omitempty"` // kill
	All     bool   `json:"all,omitempty"`    // kill
	Force   bool   `json:"force,omitempty"`  // delete
	Width   uint16 `json:"width,omitempty"`  // resize
	Height  uint16 `json:"height,omitempty"` // resize
	// ExecID selects an exec'd process (state, wait, kill, resize,
	// attach) or names a new one (exec).
	ExecID string `json:"exec_id,omitempty"`
	// Path is a file in the shim's directory: the process.json of exec,
	// the resources of update.
	Path       string `json:"path,omitempty"`
	Terminal   bool   `json:"terminal,omitempty"`    // exec
	Stdin      bool   `json:"stdin,omitempty"`       // attach; exec: keep a stdin open
	Stdout     bool   `json:"stdout,omitempty"`      // attach, exec
	Stderr     bool   `json:"stderr,omitempty"`      // attach, exec
	CloseStdin bool   `json:"close_stdin,omitempty"` // attach, exec
}

// Response is what the shim answers. Error is empty on success.
type Response struct {
	Version int     `json:"version"`
	Error   string  `json:"error,omitempty"`
	Kind    ErrKind `json:"kind,omitempty"`
	State   *State  `json:"state,omitempty"`
	Exit    *Exit   `json:"exit,omitempty"`
	Pid     int     `json:"pid,omitempty"` // exec: the process's host pid
}

// ErrKind classes an error so the client maps it without string matching.
type ErrKind string

// The error kinds.
const (
	ErrKindVersion        ErrKind = "version"
	ErrKindInvalid        ErrKind = "invalid"
	ErrKindNotRunning     ErrKind = "not-running"
	ErrKindRunning        ErrKind = "running"
	ErrKindNotImplemented ErrKind = "not-implemented"
	ErrKindNotFound       ErrKind = "not-found" // no such exec id
	ErrKindPaused         ErrKind = "paused"    // exec in a paused container
	ErrKindInternal       ErrKind = "internal"
)

// Status values of State.Status, the OCI runtime's words.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusPaused  = "paused"
	StatusStopped = "stopped"
)

// State is the container as the shim sees it.
type State struct {
	ID      string `json:"id"` // the container's, or the exec id
	Status  string `json:"status"`
	Pid     int    `json:"pid"`      // the init's host pid (kept after exit, for the record)
	ShimPid int    `json:"shim_pid"` // the shim's own pid
	Exit    *Exit  `json:"exit,omitempty"`
}

// Exit is how the init ended.
type Exit struct {
	Code int       `json:"code"` // exit status, or 128+signal
	At   time.Time `json:"at"`
}

// Sync is the one line the shim writes to its sync pipe (fd 3) once the
// container is created and the socket listens, or when it fails.
type Sync struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
}

// Dir is the shim's directory for container id: the socket, the exit
// file, the shim's own log, and the files a client hands to exec and
// update.
func Dir(execRoot, id string) string { return filepath.Join(execRoot, "shims", id) }

// SocketPath is where the shim of id listens.
func SocketPath(execRoot, id string) string { return filepath.Join(Dir(execRoot, id), "shim.sock") }

// ExitPath is the exit file, written atomically when the init exits.
func ExitPath(execRoot, id string) string { return filepath.Join(Dir(execRoot, id), "exit") }

// PidPath holds the shim's pid.
func PidPath(execRoot, id string) string { return filepath.Join(Dir(execRoot, id), "shim.pid") }

// WriteExitFile records e at path: temp file, fsync, rename, so a reader
// sees the whole record or none.
func WriteExitFile(path string, e Exit) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o600)
}

// ReadExitFile reads an exit file; the error wraps os.ErrNotExist when the
// init has not exited (or the shim died before it could record it).
func ReadExitFile(path string) (*Exit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var e Exit
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("exit file %s: %w", path, err)
	}
	return &e, nil
}

// Error is a failed response on the client side.
type Error struct {
	Kind ErrKind
	Msg  string
}

func (e *Error) Error() string { return "shim: " + e.Msg }

// Is matches errors of the same Kind: errors.Is(err, &Error{Kind: ErrKindRunning}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Msg == ""
}

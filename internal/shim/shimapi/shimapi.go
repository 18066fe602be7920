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
// JSON object on one line; a shim serves many connections at once, so a
// blocking wait never holds up a kill.
//
//	berthd                                   berth-shim                      container init
//	  │ spawn berth-shim (setsid), fd 3 = sync pipe │                               │
//	  │───────────────────────────────────────────▶│ runtime.Create (in-process)   │
//	  │                                            │──────────────────────────────▶│ (waits on exec fifo)
//	  │                                            │ listen <exec-root>/shims/<id>/shim.sock
//	  │◀──────────── sync: {"pid":<init pid>} ─────│  (or {"error":"..."}; then the shim exits)
//	  │ connect ──── {"version":1,"op":"start"} ──▶│ Start ───────────────────────▶│ execve
//	  │◀──────────── {"version":1} ────────────────│◀══ stdout/stderr pipes ═══════│
//	  │                                            │ ══▶ log driver (json-file)    │
//	  │ connect ──── {"op":"wait"} ───────────────▶│                               │
//	  │  ...berthd may die here; a new one         │                               │
//	  │  reconnects and sends "state"/"wait"...    │                               │
//	  │ connect ──── {"op":"kill","signal":9} ────▶│ kill(2) ─────────────────────▶│
//	  │◀──────────── {} ───────────────────────────│◀──────────── exit (reaped) ───│
//	  │                                            │ drain pipes, write "exit" file (atomic)
//	  │◀── (wait) {"exit":{"code":137,"at":...}} ──│ keep serving state/wait
//	  │ connect ──── {"op":"delete"} ─────────────▶│ runtime.Delete, remove its dir
//	  │◀──────────── {"exit":{...}} ───────────────│ exit(0)
//
// If the shim itself died, ReadExitFile tells the status it recorded.

// Op names a request.
type Op string

// The ops.
const (
	// OpState returns the container's State. Always answered.
	OpState Op = "state"
	// OpStart starts a created container (the init execs the process).
	OpStart Op = "start"
	// OpWait blocks until the init has exited and its output is in the log,
	// then returns Exit. Answered at once after exit. The client ends the
	// wait by closing the connection.
	OpWait Op = "wait"
	// OpKill sends Signal to the init, or with All to every process in the
	// container's cgroup. ErrKindNotRunning once the init has exited.
	OpKill Op = "kill"
	// OpResize sets the terminal size. Not implemented yet (no TTY):
	// ErrKindNotImplemented.
	OpResize Op = "resize"
	// OpAttach streams stdio. Not implemented yet: ErrKindNotImplemented.
	OpAttach Op = "attach"
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
}

// Response is what the shim answers. Error is empty on success.
type Response struct {
	Version int     `json:"version"`
	Error   string  `json:"error,omitempty"`
	Kind    ErrKind `json:"kind,omitempty"`
	State   *State  `json:"state,omitempty"`
	Exit    *Exit   `json:"exit,omitempty"`
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
	ID      string `json:"id"`
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
// file and the shim's own log.
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

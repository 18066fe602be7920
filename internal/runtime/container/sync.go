package container

// The parent (berth-runtime create/exec) and the child (berth-runtime init)
// talk over one unix stream socket, passed to the child as an extra file and
// named by _BERTH_INITPIPE. The C stage (internal/runtime/nsexec) speaks
// first; the Go stage takes over once it knows its pid.
//
//	parent                                             child
//	──────                                             ─────
//	spawn /proc/self/fd/<sealed copy> init
//	bootstrap (len + key=value)        ──────────────▶ C: oom_score_adj, setns joins,
//	                                                    unshare(user)
//	                                   ◀────────────── {"type":"usermap"}   (new userns only)
//	write uid_map, gid_map; 'A'        ──────────────▶ C: unshare(others), fork if pid/time ns
//	                                   ◀────────────── {"type":"pid","pid":N}  (C exits if it forked)
//	cgroup: apply N (create) / add N (exec)
//	{"type":"config",...}              ──────────────▶ Go: rootfs prepare (create)
//	                                   ◀────────────── {"type":"hooks"}     (create, if hooks)
//	prestart + createRuntime hooks
//	{"type":"hooks-done"}              ──────────────▶ Go: createContainer hooks, pivot, console,
//	                                                    sysctls, masks, user, caps, lookup argv[0]
//	                                   ◀────────────── {"type":"ready"}
//	create: write state.json, exit                     create: block opening exec.fifo for write
//	                                                   exec:   execve
//	                                   ◀────────────── {"type":"error","message":...} at any step
//
// `start` opens exec.fifo for reading, which releases the init: it runs the
// startContainer hooks, loads a seccomp filter that needs no_new_privs and
// calls execve. The socket is close-on-exec, so the parent of an exec sees
// EOF once the user process runs.

const (
	msgUsermap   = "usermap"
	msgPid       = "pid"
	msgConfig    = "config"
	msgHooks     = "hooks"
	msgHooksDone = "hooks-done"
	msgReady     = "ready"
	msgError     = "error"
	msgTrace     = "trace" // init → parent, only when tracing: a phase and its monotonic time
)

// syncMsg is one line on the init socket.
type syncMsg struct {
	Type    string      `json:"type"`
	Pid     int         `json:"pid,omitempty"`
	Message string      `json:"message,omitempty"`
	Config  *initConfig `json:"config,omitempty"`
	Time    int64       `json:"time,omitempty"`
}

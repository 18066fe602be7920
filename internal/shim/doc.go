// Package shim is the per-container monitor (the server side, run by
// cmd/berth-shim through Main) and the daemon's client for it (Start,
// Connect, Client).
//
// A shim creates its container with the runtime library in-process, so it
// is the init's parent and reaper for the container's whole life; it owns
// the container's stdout/stderr pipes and feeds them to the log driver, and
// records the exit status in an exit file. It outlives the daemon (own
// session): a restarted daemon reconnects to the socket, and when the shim
// is gone too the exit file still tells how the container ended. The
// protocol and the on-disk layout are in shimapi.
//
// It may import the runtime, the logger and shimapi; never daemon, server,
// image or network (internal/depcheck). The binary hosting Main must also
// serve the runtime's `init` re-exec and link internal/runtime/nsexec, as
// cmd/berth-shim does.
//
// Not done yet: attach (stdin is /dev/null; output goes only to the log),
// TTY (process.terminal), resize, exec.
package shim

// Package shim is the daemon's client for the per-container monitor,
// berth-shim (Start, Connect, Client, Stream); the protocol and the on-disk
// layout are in shimapi.
//
// The monitor itself is a small C program (cmd/berth-shim), because its
// memory is paid once per running container: it drives the OCI runtime as
// a binary with runc's command line (berth-runtime by default; runc or crun
// through Options.Runtime), is the init's reaper for the container's whole
// life (a child subreaper), owns the container's stdout/stderr pipes or pty
// master, feeds the json-file log and attached clients, runs exec'd
// processes, and records the exit status in an exit file. It outlives the
// daemon (own session): a restarted daemon reconnects to the socket, and
// when the shim is gone too the exit file still tells how the container
// ended.
//
// This package may import shimapi and the spec types only; never daemon,
// server, image or network (internal/depcheck).
package shim

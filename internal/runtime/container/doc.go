// Package container is berth-runtime's library: the lifecycle of one OCI
// container (create, start, state, kill, delete, exec, pause, resume,
// update, stats) and the container's init process that sets it up from the
// inside. The berth-runtime command line is a thin layer over it, and the
// shim may call it in-process.
//
// State lives in one directory per container under the runtime root
// (state.json, written atomically, and exec.fifo while the container is
// created but not started). The status is never stored: it is derived from
// the init's pid and start time, the fifo and the freezer, as runc does.
//
// It imports only internal/runtime/... packages (nsexec, rootfs, cgroups,
// seccomp, caps, specgen): the runtime must stay usable on its own.
package container

// Package faststart answers `berth-runtime [--root DIR] start ID` and
// `berth-runtime [--root DIR] delete ID` in C, before the Go runtime starts,
// when start only has to release the container's init through its
// exec.fifo, and delete only has to remove the cgroups and the state of a
// stopped container.
//
// Why: both are on the critical path of every container a shim drives
// (create, start, wait, delete), and on this kind of VM the Go runtime alone
// takes ~2.4 ms to start, where what start does (open the fifo, read one
// byte, wait for EOF, unlink) takes ~0.1 ms, and delete's rmdirs ~0.2 ms.
// crun does the same work in C; runc pays the Go start.
//
// The contract with internal/runtime/container (the only writer): after
// state.json, `create` writes in <root>/<id>/
//   - start.fast, "<init pid> <init start time>\n", when the spec has no
//     poststart hooks (those need the spec, which only the Go path reads);
//     `start` (either path) removes it;
//   - delete.fast, the same line then one cgroup directory per line, when
//     the spec has no poststop hooks and the container has its own mount
//     namespace (so no rootfs mounts are left for delete to undo).
//
// The constructor acts only when all of these hold, and otherwise returns
// and lets the Go command line do everything, errors included:
//   - the arguments are exactly [--root DIR | --root=DIR] start|delete ID
//     (no --force, --log, --debug or other flag, whose handling lives in
//     Go), and BERTH_RUNTIME_TRACE is not set;
//   - ID is a valid container ID and its marker exists and parses;
//   - start: the recorded init is alive (same pid and start time, not a
//     zombie) and exec.fifo is a FIFO;
//   - delete: the init is gone (or a zombie, or another process under its
//     pid), every cgroup directory is empty (no process, no child cgroup)
//     or gone, and the state directory holds only files.
//
// From the open of the fifo on, the C start owns the outcome: the init has
// been released (or has died), as in the Go path's releaseFifo, whose
// semantics it copies: exactly one byte then EOF is success, anything else
// is "init exited before start". The C delete checks everything before it
// removes anything; a failure after that is reported, not handed to Go.
//
// It imports nothing of berth's; only cmd/berth-runtime imports it (blank).
package faststart

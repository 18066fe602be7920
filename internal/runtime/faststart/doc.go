// Package faststart answers `berth-runtime [--root DIR] start ID` in C,
// before the Go runtime starts, when all that start has to do is release
// the container's init through its exec.fifo.
//
// Why: a `start` is on the critical path of every container start a shim
// drives (create, start, and a wait for the init's execve), and on this
// kind of VM the Go runtime alone takes ~2.4 ms to start, where the whole of
// what `start` does (open the fifo, read one byte, wait for EOF, unlink)
// takes ~0.1 ms. crun and runc do the same work; runc pays the Go start.
//
// The contract with internal/runtime/container (the only writer): `create`
// writes <root>/<id>/start.fast containing "<init pid> <init start time>\n"
// after state.json, and only when the spec has no poststart hooks (those
// need the spec, which only the Go path reads). `start` (either path) and
// `delete` remove it. The constructor acts only when all of these hold, and
// otherwise returns and lets the Go command line do everything, errors
// included:
//   - the arguments are exactly [--root DIR | --root=DIR] start ID (no
//     --log, --debug or other flag, whose handling lives in Go), and
//     BERTH_RUNTIME_TRACE is not set;
//   - ID is a valid container ID and <root>/<id>/start.fast exists and parses;
//   - the recorded init is alive (same pid and start time, not a zombie)
//     and exec.fifo is a FIFO.
//
// From the open of the fifo on, the C path owns the outcome: the init has
// been released (or has died), as in the Go path's releaseFifo, whose
// semantics it copies: exactly one byte then EOF is success, anything else
// is "init exited before start".
//
// It imports nothing of berth's; only cmd/berth-runtime imports it (blank).
package faststart

// Package nsexec is the cgo stage that runs before the Go runtime in
// `berth-runtime init`: it joins namespaces by path, creates new ones, has
// the parent write user namespace mappings, and forks the container's init
// when a pid or time namespace needs a child to take effect. For an `exec`
// whose process needs nothing only Go does (no terminal, I/O priority or
// scheduler), it also sets the process up (fds, no_new_privs, seccomp,
// credentials, cwd, capabilities, PATH lookup, rlimits) and execs it
// (exec.c), so no Go runtime starts inside the container: ~2.5-5 ms less
// per exec here. The parent resolves capability names and compiles the
// seccomp filter. For a container whose init needs nothing only Go does
// (container.cInit), init.c is the whole init; the Go stage stays for the
// rest.
//
// Why C: setns(2) into a mount or user namespace and unshare(CLONE_NEWUSER)
// fail with EINVAL in a multithreaded process, and the Go runtime has
// started several threads before main runs. A constructor function runs
// while the process is still single-threaded. Importing this package
// (blank import in cmd/berth-runtime) installs the constructor; it does
// nothing unless the environment variable _BERTH_INITPIPE names the init
// socket, so ordinary berth-runtime commands pay one getenv.
//
// prespawn.c is a second constructor, for `berth-runtime [--root DIR] run`:
// before the Go runtime starts (~1.2 ms here), it opens the executable in
// the same read-only overlay container.overlaySelf uses and forks and execs
// `berth-runtime init` from it, which waits in this stage for its
// bootstrap. The init's exec and start-up then overlap the parent's Go
// start, spec and cgroup work; container.spawn adopts it
// (TakePrespawned) when the container needs nothing fixed at spawn time
// that it lacks, and ends it otherwise (Prespawned.Discard). It acts only
// in a root a container has run from already (root/.empty exists), so a
// failing first run leaves the root untouched. The same constructor blocks,
// for `run`, the signals Go lets a program keep blocked and opens a
// signalfd for them (TakeRunSignals), so that run need not register each
// with os/signal; this stage clears the signal mask before anything else,
// and "__berth_exec_unblocked" execs a hook with a clear one.
//
// It imports nothing of berth's; only cmd/berth-runtime and
// internal/runtime/container may import it.
package nsexec

//go:generate go run ./internal/generrno -o errtext.h

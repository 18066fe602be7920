// Package rootfs sets up a container's filesystem view from inside the
// container's init process: the propagation of "/", the bind of the root
// filesystem onto itself, every spec mount, /dev (nodes, symlinks, ptmx), the
// switch of root (pivot_root, MS_MOVE+chroot or a bare chroot), the console
// bind, and the final touches (masked and read-only paths, a read-only root).
//
// A container without a mount namespace of its own (Config.NoMountNS: the
// spec lists none, so it shares the runtime's) gets the same view from a
// private bind of its rootfs onto itself and a chroot, without touching any
// existing mount of that shared namespace; the mounts it leaves there are
// removed by Cleanup when the container is deleted.
//
// It owns nothing else: namespaces, cgroup placement, capabilities, seccomp,
// hooks and the init protocol belong to sibling packages, and the caller runs
// Prepare, Pivot, BindConsole and Finish at the right points of its init
// (and Cleanup from delete).
// Like everything under internal/runtime it imports nothing of berth's outside
// internal/runtime (today: only the OCI runtime-spec types, x/sys/unix and
// github.com/cyphar/filepath-securejoin).
//
// Hand-written, and why: no maintained library performs OCI rootfs setup.
// runc's libcontainer does, but it is not a stable API, drags in most of runc,
// and its behaviour (which we match) is spread through its init. The risky
// part — resolving a destination inside the rootfs without being redirected by
// symlinks (CVE-2021-30465) — is not hand-rolled: destinations are opened with
// the kernel's openat2(RESOLVE_IN_ROOT), or filepath-securejoin's pathrs-lite
// where openat2 is unavailable (missing parents too), and every mount targets
// the opened O_PATH handle through /proc/self/fd/N, so a symlink swapped in
// after the check cannot move it; the handle's real path is then checked to be
// inside the rootfs (and outside /proc).
// Option words follow mount(8); recursive words (rro, rnosuid, ...) use
// mount_setattr(AT_RECURSIVE). Nothing here forks or execs.
package rootfs

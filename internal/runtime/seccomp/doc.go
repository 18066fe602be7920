// Package seccomp turns an OCI runtime spec's linux.seccomp section into a
// seccomp BPF filter and installs it on the container init before execve.
//
// It owns: the translation of actions, operators, architectures and flags
// from runtime-spec names to libseccomp values, the validation run by
// `berth-runtime create` (Validate), compilation to a BPF Program (Compile,
// CompileCached), the installation itself (Load = Compile + Program.Install,
// one seccomp(2) call), and the rule for when in the init's sequence the
// filter must be installed (LoadAt, Program.InstallAt). It must not import anything of berth's outside internal/runtime/
// (tests may use internal/testutil); github.com/moby/profiles/seccomp is used
// by tests only, as the source of Docker's default profile.
//
// # Why cgo and libseccomp
//
// Compiling a profile to BPF is not a small job: every syscall name has to be
// resolved to a number on each architecture in the profile (x86_64, x86 and
// x32 for Docker's default profile, each with its own table and pseudo-syscall
// multiplexers such as socketcall), the filter has to check the audit arch and
// the x32 bit before looking at the number, and 64-bit argument comparisons
// must be split into two 32-bit BPF comparisons. libseccomp does all of this,
// is what runc and crun use (so identical profiles give identical filters),
// and is kept current with new kernels' syscall tables by its maintainers.
// Hand-rolling it would mean re-deriving syscall tables ourselves. The cost is
// cgo (apt: libseccomp-dev pkg-config); without cgo, or off Linux, Load,
// Compile and Validate return an error wrapping ErrUnsupported for any
// non-nil profile.
//
// libseccomp is used only to generate the BPF program; installing it is our
// own seccomp(SECCOMP_SET_MODE_FILTER) call (Program.Install), which needs
// no cgo. That split exists for start latency: libseccomp 2.5.4 needs about
// 20 ms to compile Docker's default profile (1056 instructions for x86_64,
// x86 and x32), while installing the compiled program takes under 1 ms. The
// runtime should compile in `create` through CompileCached (a hit costs
// ~50 µs) and hand the encoded Program (MarshalBinary) to the init.
//
// # Behaviour
//
//   - Actions: SCMP_ACT_KILL (= KILL_THREAD), KILL_THREAD, KILL_PROCESS, TRAP,
//     ERRNO (errnoRet, default EPERM, at most 4095), TRACE (errnoRet is the
//     message for the tracer, default EPERM as runc does; with no tracer the
//     syscall fails with ENOSYS), ALLOW, LOG.
//   - SCMP_ACT_NOTIFY, listenerPath and SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
//     (which only means something with a listener) are rejected with an
//     error wrapping ErrNotifyUnsupported: handing the listener fd to an agent
//     needs a step in the init↔parent protocol that berth-runtime does not
//     have yet.
//   - Flags: SECCOMP_FILTER_FLAG_TSYNC (always passed, as libseccomp does,
//     so the filter covers every thread of the process; naming it is a
//     no-op), SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW.
//     Anything else is an error naming the flag.
//   - Syscall names libseccomp does not know are skipped, so a profile written
//     for a newer kernel still loads (runc does the same). Unknown actions,
//     operators, architectures and argument indexes are errors naming them.
//   - Rules whose action (including its errno) equals the default action are
//     skipped: libseccomp refuses them and they change nothing.
//   - A rule whose args compare the same argument index more than once is
//     split into one rule per comparison (any of them matches); otherwise all
//     comparisons must match. This is runc's long-standing interpretation.
//   - Installing never sets no_new_privs: that is the spec's
//     process.noNewPrivileges, set by the init, not a side effect of seccomp.
//   - Not done: runc's rewriting of the program so that syscalls newer than
//     every syscall the profile names return ENOSYS instead of the default
//     action. With Docker's profile such syscalls get EPERM here.
//
// # Order of operations in the container init
//
// Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, so it must
// happen before the credential change drops it. With no_new_privs it can and
// should happen as late as possible, so that the profile does not have to
// allow the syscalls the init itself makes after it (setresuid, capset,
// prctl, reads of the exec FIFO, ...). This mirrors runc's standard init.
// The init follows exactly this sequence, on one OS thread locked with
// runtime.LockOSThread at its start and never unlocked (capabilities,
// keep-caps and no_new_privs are per thread; the filter itself reaches all
// threads through TSYNC):
//
//  1. mounts, pivot_root, sysctls, masked and read-only paths, AppArmor label.
//  2. if process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0).
//  3. seccomp.LoadAt(seccomp.BeforeCredentials, cfg, nnp)
//     — installs now when nnp is false (CAP_SYS_ADMIN is still held).
//     With a precompiled Program p (recommended), p.InstallAt(...) instead,
//     here and in step 10: same stages, same rule.
//  4. caps.ApplyBounding(process.capabilities) — optional (caps.Apply
//     covers it), kept for runc's order.
//  5. prctl(PR_SET_KEEPCAPS, 1) on this thread.
//  6. setgroups(additionalGids), setresgid(gid), setresuid(uid) — groups and
//     gid first: after setresuid away from 0 the effective set is empty.
//  7. chdir(cwd) if it failed with EPERM before the user change.
//  8. caps.Apply(process.capabilities) — E/P/I exactly, rest of the bounding
//     set dropped, ambient raised. Log its warnings.
//  9. restore the parent-death signal (the uid change cleared it), check the
//     parent is still the same, tell the parent we are ready, wait on the
//     exec FIFO.
//  10. seccomp.LoadAt(seccomp.BeforeExec, cfg, nnp) — installs now when nnp is
//     true; it fails if no_new_privs was not really set in step 2.
//  11. execve(process.args) with nothing in between.
//
// `berth-runtime create` calls Validate(cfg) (or CompileCached, which
// validates too) before starting any process, so a bad profile fails the
// create, not the init.
package seccomp

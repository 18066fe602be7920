// Package caps sets the capability sets of the container init's thread from
// an OCI spec's process.capabilities, just before execve.
//
// It owns: resolving capability names ("CAP_NET_ADMIN") to numbers, deciding
// which names to ignore (unknown to berth, or unknown to the running kernel;
// both are reported as warnings, as runc does), dropping the bounding set,
// setting the effective, permitted and inheritable sets exactly, and raising
// the ambient set. It must not import anything of berth's outside
// internal/runtime/ (tests may use internal/testutil).
//
// Capability names and the running kernel's last capability come from
// github.com/moby/sys/capability, as do the bounding-set and ambient prctls;
// the capget/capset calls are made directly with golang.org/x/sys/unix
// because Apply must act on the calling thread only and sequence the sets
// itself (the library's bounding-set drop silently does nothing when
// CAP_SETPCAP is not effective, which is exactly the state after a uid
// change).
//
// # What the init calls, and when
//
// Capabilities are per thread. Everything below must run on the OS thread
// the init locked with runtime.LockOSThread and will call execve from.
//
//  1. (optional) ApplyBounding(c) while still uid 0 with full capabilities.
//     This is runc's order; Apply does the same drop itself, so it may be
//     skipped.
//  2. prctl(PR_SET_KEEPCAPS, 1), then setgroups/setresgid/setresuid. With
//     keep-caps the permitted set survives the switch away from uid 0; the
//     kernel still empties the effective set. Raw per-thread syscalls (as
//     runc and the tests do) or Go's all-thread syscall.Setresuid both work:
//     only this thread's keep-caps flag matters, as only it will execve.
//  3. Apply(c). It raises CAP_SETPCAP in the effective set again from the
//     kept permitted set if it still has bounding-set capabilities to drop,
//     drops them, sets E/P/I exactly, then raises the ambient set. Log the
//     returned warnings. PR_SET_KEEPCAPS need not be cleared: execve clears
//     it.
//
// With uid 0 and no user change, step 2 is a no-op and Apply alone is
// enough. See also "Order of operations" in package seccomp: a filter
// installed before Apply (spec without noNewPrivileges) must allow capget,
// capset and prctl, as Docker's default profile does.
package caps

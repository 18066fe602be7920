// Package cgroups places a container's processes in cgroups and enforces the
// resource limits of its OCI spec, for berth-runtime.
//
// It owns:
//   - the conversion of spec.Linux.Resources into the cgroup configuration of
//     github.com/opencontainers/cgroups (including runc's default device
//     allow-list, so /dev/null, /dev/pts/* and friends keep working), plus
//     what that library no longer writes: v1 memory.kernelTCP, and device
//     rules in the spec's order on a new v1 cgroup;
//   - refusing, with ErrHostUnsupported and the spec field's name, limits
//     this host cannot enforce (an unmounted controller, an unknown huge page
//     size or block device, blkio weights without BFQ). memory.kernel is the
//     one such value ignored, as runc does: the kernel itself ignores it;
//   - the choice of cgroup path (see New for the rule, which matches runc);
//   - a Manager over that library's cgroupfs drivers, fs (v1) and fs2 (v2):
//     create/apply, join extra processes, update, freeze/thaw, pids, stats,
//     OOM kill count, destroy;
//   - a JSON-serialisable State, so a later runtime invocation can rebuild the
//     Manager with Load;
//   - Stats and Event types that marshal to the JSON of `runc events --stats`.
//
// The systemd cgroup driver is not supported: New returns
// ErrSystemdUnsupported when asked for it.
//
// Like the rest of internal/runtime it imports nothing of berth's outside
// internal/runtime (tests may use internal/testutil). The kernel work lives in
// _linux.go files; elsewhere New and Load report errors.ErrUnsupported.
package cgroups

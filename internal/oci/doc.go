// Package oci turns a container record (internal/container) into the OCI
// runtime spec that berth-runtime (or any runc-compatible runtime) runs,
// the way dockerd builds its spec: Docker's default capabilities, seccomp
// profile, masked and read-only paths, default mounts and device rules,
// plus everything the user set in Config and HostConfig.
//
// It validates as it builds: bad values are errors classed
// container.ErrInvalidParameter with docker's wording where docker has one.
//
// Host facts that change the spec (the capability bounding set, hard
// rlimits, CPU count, cgroup version, swap accounting) come in through
// Host, so tests build specs for any host; DetectHost reads the real one.
//
// A mechanism (depcheck rank 1): it imports internal/container, the Engine
// API types, runtime-spec and Docker's seccomp profile module, never daemon,
// server, image or the runtime itself.
package oci

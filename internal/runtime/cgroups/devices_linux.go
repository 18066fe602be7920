package cgroups

import (
	"github.com/opencontainers/cgroups"
	devconfig "github.com/opencontainers/cgroups/devices/config"
)

// writeV1DeviceRules writes rules to the v1 devices cgroup in dir one by one,
// in the spec's order, after a deny-all. It is only for a directory Create
// has just made, which no process can be in yet.
//
// Why: the spec says "The runtime MUST apply entries in the listed order",
// and devices.list shows the kernel's exceptions in the order they were
// added (dev_exception_add appends). The library instead computes the
// least disruptive transition from the current state, which adds the rules
// sorted by type and number: the same access, but `b *:* m` listed before
// the spec's first rule. Writing in order ourselves first leaves the library
// (called right after, as always) with nothing to change, since the kernel
// applying the rules in order is exactly what its emulator models; it still
// makes whatever changes are needed and checks the final devices.list, so
// this pass only decides the order and can never decide the access.
//
// It stops at the first refused write (a user namespace, a parent cgroup
// that lacks the access) and reports nothing: the library's pass then
// transitions from wherever this one stopped, or reports the error itself.
func writeV1DeviceRules(dir string, rules []*devconfig.Rule) {
	// The library's rule set starts from deny-all (its emulator's default),
	// while a new cgroup starts as a copy of its parent, usually allow-all.
	if cgroups.WriteFile(dir, "devices.deny", "a *:* rwm") != nil {
		return
	}
	for _, r := range rules {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if cgroups.WriteFile(dir, file, r.CgroupString()) != nil {
			return
		}
	}
}

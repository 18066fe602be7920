//go:build linux

package oci

import (
	"fmt"
	"slices"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/sys/capability"

	"github.com/berth-engine/berth/internal/container"
)

// DefaultCapabilities is Docker's default set for unprivileged containers.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func knownCaps() map[string]bool {
	m := map[string]bool{}
	for _, c := range capability.ListKnown() {
		m[capName(c)] = true
	}
	return m
}

// normalizeCaps upper-cases names and adds "CAP_"; "ALL" stays "ALL".
func normalizeCaps(in []string, known map[string]bool) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, c := range in {
		n := strings.ToUpper(strings.TrimSpace(c))
		if n == "ALL" {
			out = append(out, n)
			continue
		}
		if !strings.HasPrefix(n, "CAP_") {
			n = "CAP_" + n
		}
		if !known[n] {
			return nil, fmt.Errorf("unknown capability: %q", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// capabilities computes the container's set the way docker does:
// privileged → the host's whole bounding set; CapAdd "ALL" → every
// capability the host has, minus CapDrop; CapDrop "ALL" → only CapAdd;
// otherwise Docker's defaults minus CapDrop plus CapAdd. A capability the
// host's bounding set lacks cannot be added: that is an error for an
// explicit CapAdd, and silently absent from "ALL" and privileged.
func capabilities(hc *ctypes.HostConfig, host *Host) ([]string, error) {
	bounding := map[string]bool{}
	for _, c := range host.BoundingSet {
		bounding[c] = true
	}
	if hc.Privileged {
		return sortedCaps(host.BoundingSet), nil
	}
	known := knownCaps()
	// docker's wording: invalid CapAdd: unknown capability: "CAP_FLY".
	add, err := normalizeCaps(hc.CapAdd, known)
	if err != nil {
		return nil, invalidf("invalid CapAdd: %v", err)
	}
	drop, err := normalizeCaps(hc.CapDrop, known)
	if err != nil {
		return nil, invalidf("invalid CapDrop: %v", err)
	}
	set := map[string]bool{}
	switch {
	case slices.Contains(add, "ALL"):
		for c := range bounding {
			set[c] = true
		}
		for _, c := range drop {
			delete(set, c)
		}
		return sortedSet(set), nil
	case slices.Contains(drop, "ALL"):
	default:
		for _, c := range DefaultCapabilities {
			set[c] = true
		}
		for _, c := range drop {
			delete(set, c)
		}
	}
	for _, c := range add {
		if !bounding[c] {
			return nil, invalidf("capability %s is not in the host's bounding set and cannot be added", c)
		}
		set[c] = true
	}
	// A default the host lacks is left out rather than failing every
	// container on that host.
	for c := range set {
		if !bounding[c] {
			delete(set, c)
		}
	}
	return sortedSet(set), nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

func sortedCaps(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func invalidf(format string, args ...any) error {
	return container.Classed(container.ErrInvalidParameter, fmt.Sprintf(format, args...))
}

//go:build !linux

package daemon

// host is empty off Linux: berthd runs on Linux only.
type host struct {
	kernel, arch, osName, osVersion, backingFS string
	memTotal                                   int64
	ipv4Forwarding                             bool
	securityOptions                            []string
	cg                                         struct {
		version                                                 string
		memory, swap, cfs, shares, cpuset, pids, oomKillDisable bool
	}
}

func probeHost(string) host { return host{} }

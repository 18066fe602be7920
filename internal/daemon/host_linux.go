package daemon

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// host holds what /info and /version report about the machine. A fact that
// cannot be read stays empty or false rather than guessed.
type host struct {
	kernel, arch      string
	osName, osVersion string
	memTotal          int64
	backingFS         string
	ipv4Forwarding    bool
	securityOptions   []string
	cg                cgroupFacts
}

type cgroupFacts struct {
	version                                                 string
	memory, swap, cfs, shares, cpuset, pids, oomKillDisable bool
}

func probeHost(dataRoot string) host {
	var h host
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.kernel = unix.ByteSliceToString(u.Release[:])
		h.arch = unix.ByteSliceToString(u.Machine[:])
	}
	h.osName, h.osVersion = osRelease()
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		h.memTotal = int64(si.Totalram) * int64(si.Unit)
	}
	h.backingFS = fsName(dataRoot)
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); err == nil {
		h.ipv4Forwarding = strings.TrimSpace(string(b)) == "1"
	}
	h.cg = probeCgroups()
	// berth-runtime applies Docker's default seccomp profile (moby/profiles)
	// unless a container asks otherwise.
	h.securityOptions = []string{"name=seccomp,profile=builtin"}
	if h.cg.version == "2" {
		h.securityOptions = append(h.securityOptions, "name=cgroupns")
	}
	return h
}

// osRelease reads PRETTY_NAME and VERSION_ID from os-release(5).
func osRelease() (name, ver string) {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"'`)
			switch k {
			case "PRETTY_NAME":
				name = v
			case "VERSION_ID":
				ver = v
			}
		}
		return name, ver
	}
	return "", ""
}

// fsName names the filesystem under path, as dockerd's "Backing Filesystem".
func fsName(path string) string {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return ""
	}
	switch int64(st.Type) {
	case unix.EXT4_SUPER_MAGIC:
		return "extfs"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	case 0x2fc12fc1: // ZFS_SUPER_MAGIC, which x/sys/unix does not define
		return "zfs"
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs"
	default:
		return "unknown"
	}
}

// probeCgroups reports the cgroup version (the filesystem type mounted at
// /sys/fs/cgroup: cgroup2 alone means v2; v1 and hybrid layouts are "1")
// and which resource controls the hierarchy offers.
func probeCgroups() cgroupFacts {
	const root = "/sys/fs/cgroup"
	var c cgroupFacts
	var st unix.Statfs_t
	if unix.Statfs(root, &st) != nil {
		return c
	}
	exists := func(p ...string) bool {
		_, err := os.Stat(filepath.Join(append([]string{root}, p...)...))
		return err == nil
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		c.version = "2"
		b, _ := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		ctrls := strings.Fields(string(b))
		has := func(n string) bool {
			for _, x := range ctrls {
				if x == n {
					return true
				}
			}
			return false
		}
		c.memory, c.cfs, c.shares, c.cpuset, c.pids = has("memory"), has("cpu"), has("cpu"), has("cpuset"), has("pids")
		// memory.swap.max exists only in child cgroups; the kernel has
		// swap accounting when its own (init.scope or system.slice) does.
		c.swap = exists("init.scope", "memory.swap.max") || exists("system.slice", "memory.swap.max")
		return c
	}
	c.version = "1"
	c.memory = exists("memory", "memory.limit_in_bytes")
	c.swap = exists("memory", "memory.memsw.limit_in_bytes")
	c.oomKillDisable = exists("memory", "memory.oom_control")
	c.cfs = exists("cpu", "cpu.cfs_period_us")
	c.shares = exists("cpu", "cpu.shares")
	c.cpuset = exists("cpuset", "cpuset.cpus")
	c.pids = exists("pids", "pids.max")
	return c
}

//go:build linux

package oci

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// Host is what the spec depends on about the machine it will run on.
type Host struct {
	// BoundingSet is the daemon's capability bounding set ("CAP_CHOWN",
	// ...). Privileged containers get exactly this set: a capability the
	// host lacks (CAP_SYS_RESOURCE on some VMs) cannot be granted.
	BoundingSet []string
	// HardLimits are the daemon's hard rlimits by docker's ulimit name
	// ("nofile"); default rlimits are clamped to them.
	HardLimits map[string]uint64
	NumCPU     int
	CgroupV2   bool
	// SwapLimit says whether the memory cgroup accounts swap (memsw on
	// v1); without it MemorySwap is dropped with a warning, as docker does.
	SwapLimit bool
}

// DetectHost reads the running host's facts.
func DetectHost() (*Host, error) {
	h := &Host{NumCPU: runtime.NumCPU(), HardLimits: map[string]uint64{}}
	bnd, err := boundingSet()
	if err != nil {
		return nil, err
	}
	h.BoundingSet = bnd
	for name, res := range rlimitResources {
		var rl unix.Rlimit
		if err := unix.Getrlimit(res, &rl); err == nil {
			h.HardLimits[name] = rl.Max
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		h.CgroupV2 = true
		_, err := os.Stat("/sys/fs/cgroup/memory.swap.max")
		h.SwapLimit = err == nil || fileHas("/sys/fs/cgroup/cgroup.controllers", "memory")
	} else {
		_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
		h.SwapLimit = err == nil
	}
	return h, nil
}

func fileHas(path, word string) bool {
	data, err := os.ReadFile(path)
	return err == nil && strings.Contains(" "+strings.TrimSpace(string(data))+" ", " "+word+" ")
}

// boundingSet decodes CapBnd from /proc/self/status.
func boundingSet() ([]string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("CapBnd: %w", err)
		}
		var out []string
		for _, c := range capability.ListKnown() {
			if mask&(1<<uint(c)) != 0 {
				out = append(out, capName(c))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("/proc/self/status has no CapBnd line")
}

func capName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }

// rlimitResources maps docker's ulimit names to RLIMIT_ numbers.
var rlimitResources = map[string]int{
	"core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA, "fsize": unix.RLIMIT_FSIZE,
	"locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK, "msgqueue": unix.RLIMIT_MSGQUEUE,
	"nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE, "nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS,
	"rtprio": unix.RLIMIT_RTPRIO, "rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING,
	"stack": unix.RLIMIT_STACK,
}

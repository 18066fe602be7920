package daemon

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/oci"
)

// ContainerStats reports the container's resource use from its cgroup, in
// docker's shape. With stream it sends a sample every second until ctx ends
// or the container stops; otherwise one sample, with the previous CPU
// reading one second earlier unless oneShot (as dockerd does). A stopped
// container gets zeroed samples (one, or one a second until ctx ends).
func (d *Daemon) ContainerStats(ctx context.Context, idOrName string, stream, oneShot bool, fn func(*ctypes.StatsResponse) error) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	id, name, cg, running := c.ID, c.Name, oci.CgroupsPath(c), c.State.Running && !c.State.Restarting
	c.Unlock()
	base := ctypes.StatsResponse{ID: id, Name: name, OSType: "linux"}
	if !running {
		// A zeroed sample; streamed every second, as dockerd keeps a
		// stopped container's stream open (docker stats shows its row).
		for {
			s := base
			s.Read = time.Now()
			if err := fn(&s); err != nil || !stream {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
	var prev *ctypes.StatsResponse
	if !stream && !oneShot {
		prev = sampleCgroup(base, cg)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s := sampleCgroup(base, cg)
		if prev != nil {
			s.PreRead, s.PreCPUStats = prev.Read, prev.CPUStats
		}
		if err := fn(s); err != nil || !stream {
			return err
		}
		prev = s
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		c.Lock()
		running = c.State.Running
		c.Unlock()
		if !running {
			return nil
		}
	}
}

// sampleCgroup reads one sample: cgroup v1 controllers where mounted, else
// the unified (v2) hierarchy. Files that are missing leave zeros.
func sampleCgroup(base ctypes.StatsResponse, cg string) *ctypes.StatsResponse {
	s := base
	s.Read = time.Now()
	s.CPUStats.SystemUsage = systemCPUUsage()
	s.CPUStats.OnlineCPUs = uint32(runtime.NumCPU())
	v1 := func(ctrl, file string) string { return filepath.Join("/sys/fs/cgroup", ctrl, cg, file) }
	v2dir := filepath.Join("/sys/fs/cgroup/unified", cg)
	if _, err := os.Stat(v2dir); err != nil {
		v2dir = filepath.Join("/sys/fs/cgroup", cg)
	}
	v2 := func(file string) string { return filepath.Join(v2dir, file) }

	if n, ok := readUint(v1("cpu,cpuacct", "cpuacct.usage")); ok {
		s.CPUStats.CPUUsage.TotalUsage = n
		st := readKV(v1("cpu,cpuacct", "cpuacct.stat"))
		// cpuacct.stat is in USER_HZ ticks (100 a second).
		s.CPUStats.CPUUsage.UsageInUsermode = st["user"] * 1e7
		s.CPUStats.CPUUsage.UsageInKernelmode = st["system"] * 1e7
		th := readKV(v1("cpu,cpuacct", "cpu.stat"))
		s.CPUStats.ThrottlingData = ctypes.ThrottlingData{Periods: th["nr_periods"], ThrottledPeriods: th["nr_throttled"], ThrottledTime: th["throttled_time"]}
	} else if st := readKV(v2("cpu.stat")); len(st) > 0 {
		s.CPUStats.CPUUsage.TotalUsage = st["usage_usec"] * 1000
		s.CPUStats.CPUUsage.UsageInUsermode = st["user_usec"] * 1000
		s.CPUStats.CPUUsage.UsageInKernelmode = st["system_usec"] * 1000
		s.CPUStats.ThrottlingData = ctypes.ThrottlingData{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_usec"] * 1000}
	}

	if n, ok := readUint(v1("memory", "memory.usage_in_bytes")); ok {
		s.MemoryStats.Usage = n
		s.MemoryStats.MaxUsage, _ = readUint(v1("memory", "memory.max_usage_in_bytes"))
		s.MemoryStats.Failcnt, _ = readUint(v1("memory", "memory.failcnt"))
		s.MemoryStats.Limit, _ = readUint(v1("memory", "memory.limit_in_bytes"))
		s.MemoryStats.Stats = readKV(v1("memory", "memory.stat"))
	} else if n, ok := readUint(v2("memory.current")); ok {
		s.MemoryStats.Usage = n
		s.MemoryStats.Limit, _ = readUint(v2("memory.max"))
		s.MemoryStats.Stats = readKV(v2("memory.stat"))
	}
	// An unlimited cgroup reports a huge number; docker shows the host's
	// memory instead.
	if total := hostMemory(); total > 0 && (s.MemoryStats.Limit == 0 || s.MemoryStats.Limit > total) {
		s.MemoryStats.Limit = total
	}

	pidsFile, maxFile := v1("pids", "pids.current"), v1("pids", "pids.max")
	if _, err := os.Stat(pidsFile); err != nil {
		pidsFile, maxFile = v2("pids.current"), v2("pids.max")
	}
	s.PidsStats.Current, _ = readUint(pidsFile)
	s.PidsStats.Limit, _ = readUint(maxFile)

	s.BlkioStats.IoServiceBytesRecursive = readBlkio(v1("blkio", "blkio.throttle.io_service_bytes"))
	s.BlkioStats.IoServicedRecursive = readBlkio(v1("blkio", "blkio.throttle.io_serviced"))
	return &s
}

func readUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil // "max" reads as not set
}

// readKV reads "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
func readKV(path string) map[string]uint64 {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// readBlkio reads "major:minor Op value" lines; the closing "Total n" line
// is skipped.
func readBlkio(path string) []ctypes.BlkioStatEntry {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []ctypes.BlkioStatEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			continue
		}
		maj, minor, ok := strings.Cut(fs[0], ":")
		if !ok {
			continue
		}
		e := ctypes.BlkioStatEntry{Op: fs[1]}
		var err1, err2, err3 error
		e.Major, err1 = strconv.ParseUint(maj, 10, 64)
		e.Minor, err2 = strconv.ParseUint(minor, 10, 64)
		e.Value, err3 = strconv.ParseUint(fs[2], 10, 64)
		if err1 == nil && err2 == nil && err3 == nil {
			out = append(out, e)
		}
	}
	return out
}

// systemCPUUsage is the host's total CPU time in nanoseconds, from the
// first line of /proc/stat (in USER_HZ ticks, 100 a second), as docker
// computes it.
func systemCPUUsage() uint64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fs := strings.Fields(sc.Text())
	if len(fs) < 8 || fs[0] != "cpu" {
		return 0
	}
	var ticks uint64
	for _, v := range fs[1:8] {
		n, _ := strconv.ParseUint(v, 10, 64)
		ticks += n
	}
	return ticks * 1e7
}

func hostMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			n, _ := strconv.ParseUint(fs[1], 10, 64)
			return n * 1024
		}
	}
	return 0
}

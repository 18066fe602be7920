//go:build linux

package oci

import (
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// MinMemory is docker's smallest memory limit (6 MiB).
const MinMemory = 6 << 20

const defaultCPUPeriod = 100000

func ptr[T any](v T) *T { return &v }

func devRule(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major >= 0 {
		r.Major = ptr(major)
	}
	if minor >= 0 {
		r.Minor = ptr(minor)
	}
	return r
}

// defaultDeviceRules is docker's device cgroup: deny everything, allow
// mknod of any node, and rwm on the few devices every container has.
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		devRule(true, "c", -1, -1, "m"),
		devRule(true, "b", -1, -1, "m"),
		devRule(true, "c", 1, 3, "rwm"),    // /dev/null
		devRule(true, "c", 1, 8, "rwm"),    // /dev/random
		devRule(true, "c", 1, 7, "rwm"),    // /dev/full
		devRule(true, "c", 5, 0, "rwm"),    // /dev/tty
		devRule(true, "c", 1, 5, "rwm"),    // /dev/zero
		devRule(true, "c", 1, 9, "rwm"),    // /dev/urandom
		devRule(true, "c", 136, -1, "rwm"), // /dev/pts/*
		devRule(true, "c", 5, 2, "rwm"),    // /dev/ptmx
		devRule(true, "c", 5, 1, "rwm"),    // /dev/console
	}
}

func deviceOf(p string) (specs.LinuxDevice, bool, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return specs.LinuxDevice{}, false, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, false, nil
	}
	mode := fs.FileMode(st.Mode & 0o777)
	return specs.LinuxDevice{
		Path: p, Type: typ,
		Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev))),
		FileMode: &mode, UID: ptr(st.Uid), GID: ptr(st.Gid),
	}, true, nil
}

// hostDevices lists /dev's device nodes for privileged containers, leaving
// out what the runtime makes itself (pts, shm, mqueue, console).
func hostDevices() ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir("/dev", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "/dev" {
				return err
			}
			return nil
		}
		if d.IsDir() {
			switch d.Name() {
			case "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev":
				return filepath.SkipDir
			}
			return nil
		}
		if p == "/dev/console" || d.Type()&fs.ModeDevice == 0 {
			return nil
		}
		dev, ok, err := deviceOf(p)
		if err == nil && ok {
			out = append(out, dev)
		}
		return nil
	})
	return out, err
}

func (b *builder) devices() error {
	hc := b.hc
	if hc.Privileged {
		devs, err := hostDevices()
		if err != nil {
			return fmt.Errorf("listing host devices: %w", err)
		}
		b.s.Linux.Devices = devs
		b.s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		return nil
	}
	rules := defaultDeviceRules()
	for _, d := range hc.Devices {
		perms := d.CgroupPermissions
		if perms == "" {
			perms = "rwm"
		}
		if strings.Trim(perms, "rwm") != "" {
			return invalidf("invalid device mode: %s", perms)
		}
		if !filepath.IsAbs(d.PathOnHost) {
			return invalidf("invalid device path: %q must be absolute", d.PathOnHost)
		}
		inCtr := d.PathInContainer
		if inCtr == "" {
			inCtr = d.PathOnHost
		}
		if !filepath.IsAbs(inCtr) {
			return invalidf("invalid device path in container: %q must be absolute", inCtr)
		}
		dev, ok, err := deviceOf(d.PathOnHost)
		if err != nil {
			return invalidf("error gathering device information while adding custom device %q: %v", d.PathOnHost, err)
		}
		if !ok {
			return invalidf("error gathering device information while adding custom device %q: not a device node", d.PathOnHost)
		}
		dev.Path = inCtr
		b.s.Linux.Devices = append(b.s.Linux.Devices, dev)
		rules = append(rules, devRule(true, dev.Type, dev.Major, dev.Minor, perms))
	}
	b.s.Linux.Resources.Devices = rules
	return nil
}

// resources validates the cgroup settings with docker's messages and
// fills Linux.Resources.
func (b *builder) resources() error {
	r := b.hc.Resources
	res := b.s.Linux.Resources
	mem := &specs.LinuxMemory{}
	if r.Memory != 0 && r.Memory < MinMemory {
		return invalidf("Minimum memory limit allowed is 6MB")
	}
	if r.MemoryReservation < 0 {
		return invalidf("invalid memory reservation %d: must not be negative", r.MemoryReservation)
	}
	if r.MemoryReservation != 0 && r.MemoryReservation < MinMemory {
		return invalidf("Minimum memory reservation allowed is 6MB")
	}
	if r.Memory > 0 && r.MemoryReservation > 0 && r.Memory < r.MemoryReservation {
		return invalidf("Minimum memory limit can not be less than memory reservation limit, see usage")
	}
	if r.MemorySwap < -1 {
		return invalidf("invalid memory swap %d: must be -1 (unlimited), 0 (default) or a size", r.MemorySwap)
	}
	if r.MemorySwap > 0 && r.Memory == 0 {
		return invalidf("You should always set the Memory limit when using Memoryswap limit, see usage")
	}
	if r.MemorySwap > 0 && r.MemorySwap < r.Memory {
		return invalidf("Minimum memoryswap limit should be larger than memory limit, see usage")
	}
	if r.Memory > 0 {
		mem.Limit = ptr(r.Memory)
		swap := r.MemorySwap
		if swap == 0 {
			swap = 2 * r.Memory // docker's default: as much swap as memory
		}
		if b.host.SwapLimit {
			mem.Swap = ptr(swap)
		} else if r.MemorySwap != 0 {
			b.opts.warnf("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.")
		}
	}
	if r.MemoryReservation > 0 {
		mem.Reservation = ptr(r.MemoryReservation)
	}
	if r.MemorySwappiness != nil && *r.MemorySwappiness != -1 {
		if *r.MemorySwappiness < 0 || *r.MemorySwappiness > 100 {
			return invalidf("Invalid value: %v, valid memory swappiness range is 0-100", *r.MemorySwappiness)
		}
		mem.Swappiness = ptr(uint64(*r.MemorySwappiness))
	}
	if r.OomKillDisable != nil && *r.OomKillDisable {
		if r.Memory == 0 {
			b.opts.warnf("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.")
		}
		mem.DisableOOMKiller = ptr(true)
	}
	if *mem != (specs.LinuxMemory{}) {
		res.Memory = mem
	}

	cpu := &specs.LinuxCPU{}
	if r.CPUShares < 0 {
		return invalidf("invalid CPU shares %d: must not be negative", r.CPUShares)
	}
	if r.CPUShares > 0 {
		cpu.Shares = ptr(uint64(r.CPUShares))
	}
	if r.NanoCPUs != 0 {
		if r.CPUPeriod != 0 {
			return invalidf("Conflicting options: Nano CPUs and CPU Period cannot both be set")
		}
		if r.CPUQuota != 0 {
			return invalidf("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
		}
		n := b.host.NumCPU
		if r.NanoCPUs < 0 || (n > 0 && r.NanoCPUs > int64(n)*1e9) {
			return invalidf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n, n)
		}
		cpu.Period = ptr(uint64(defaultCPUPeriod))
		q := r.NanoCPUs * defaultCPUPeriod / 1e9
		if q < 1000 {
			q = 1000 // the kernel's smallest quota; docker's 0.01 CPU floor
		}
		cpu.Quota = ptr(q)
	}
	if r.CPUPeriod != 0 {
		if r.CPUPeriod < 1000 || r.CPUPeriod > 1000000 {
			return invalidf("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
		}
		cpu.Period = ptr(uint64(r.CPUPeriod))
	}
	if r.CPUQuota != 0 {
		if r.CPUQuota > 0 && r.CPUQuota < 1000 {
			return invalidf("CPU cfs quota can not be less than 1ms (i.e. 1000)")
		}
		if r.CPUQuota < -1 {
			return invalidf("invalid CPU quota %d", r.CPUQuota)
		}
		cpu.Quota = ptr(r.CPUQuota)
	}
	if r.CpusetCpus != "" {
		if err := checkCPUList(r.CpusetCpus, b.host.NumCPU); err != nil {
			return invalidf("Invalid value %s for cpuset cpus: %v", r.CpusetCpus, err)
		}
		cpu.Cpus = r.CpusetCpus
	}
	if r.CpusetMems != "" {
		if err := checkCPUList(r.CpusetMems, 0); err != nil {
			return invalidf("Invalid value %s for cpuset mems: %v", r.CpusetMems, err)
		}
		cpu.Mems = r.CpusetMems
	}
	if *cpu != (specs.LinuxCPU{}) {
		res.CPU = cpu
	}
	if r.PidsLimit != nil {
		l := *r.PidsLimit
		if l <= 0 {
			l = -1 // 0 and -1 both mean unlimited
		}
		res.Pids = &specs.LinuxPids{Limit: ptr(l)}
	}
	if r.BlkioWeight != 0 {
		if r.BlkioWeight < 10 || r.BlkioWeight > 1000 {
			return invalidf("Range of blkio weight is from 10 to 1000")
		}
		res.BlockIO = &specs.LinuxBlockIO{Weight: ptr(r.BlkioWeight)}
	}
	return nil
}

// checkCPUList checks a cpuset list ("0-2,4"); max > 0 bounds the ids.
func checkCPUList(s string, max int) error {
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return fmt.Errorf("invalid format %q", part)
		}
		z := a
		if isRange {
			if z, err = strconv.ParseUint(hi, 10, 16); err != nil || z < a {
				return fmt.Errorf("invalid range %q", part)
			}
		}
		if max > 0 && z >= uint64(max) {
			return fmt.Errorf("Requested CPUs are not available - requested %s, available: 0-%d", s, max-1)
		}
	}
	return nil
}

// DefaultNofile is the open-files limit containers get by default, as
// under dockerd; it is clamped to the host's hard limit.
const DefaultNofile = 1048576

// rlimits applies default ulimits (clamped to the host's hard limits, with
// a warning) and the container's own (checked, not clamped: a limit the
// host cannot grant is an error the user can act on).
func (b *builder) rlimits() error {
	defs := b.opts.DefaultUlimits
	if defs == nil {
		defs = []*ctypes.Ulimit{{Name: "nofile", Soft: DefaultNofile, Hard: DefaultNofile}}
	}
	canRaise := false
	for _, c := range b.host.BoundingSet {
		if c == "CAP_SYS_RESOURCE" {
			canRaise = true
		}
	}
	byName := map[string]specs.POSIXRlimit{}
	var order []string
	set := func(name string, soft, hard uint64) {
		if _, ok := byName[name]; !ok {
			order = append(order, name)
		}
		byName[name] = specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(name), Soft: soft, Hard: hard}
	}
	for _, u := range defs {
		if err := checkUlimit(u); err != nil {
			return err
		}
		soft, hard := rlim(u.Soft), rlim(u.Hard)
		if max, ok := b.host.HardLimits[u.Name]; ok && max != unix.RLIM_INFINITY && hard > max {
			b.opts.warnf("default ulimit %s=%d:%d exceeds the host's hard limit %d; using %d", u.Name, u.Soft, u.Hard, max, max)
			hard = max
			soft = min(soft, max)
		}
		set(u.Name, soft, hard)
	}
	for _, u := range b.hc.Ulimits {
		if u == nil {
			continue
		}
		if err := checkUlimit(u); err != nil {
			return err
		}
		soft, hard := rlim(u.Soft), rlim(u.Hard)
		if max, ok := b.host.HardLimits[u.Name]; ok && max != unix.RLIM_INFINITY && hard > max && !canRaise {
			return invalidf("ulimit %s hard limit %d exceeds the host's hard limit %d, which cannot be raised here (no CAP_SYS_RESOURCE)", u.Name, u.Hard, max)
		}
		set(u.Name, soft, hard)
	}
	for _, n := range order {
		b.s.Process.Rlimits = append(b.s.Process.Rlimits, byName[n])
	}
	return nil
}

func rlim(v int64) uint64 {
	if v < 0 {
		return math.MaxUint64 // -1: unlimited
	}
	return uint64(v)
}

func checkUlimit(u *ctypes.Ulimit) error {
	if _, ok := rlimitResources[u.Name]; !ok {
		return invalidf("invalid ulimit type: %s", u.Name)
	}
	if u.Soft < -1 || u.Hard < -1 {
		return invalidf("invalid ulimit %s: limits must be -1 (unlimited) or positive", u.Name)
	}
	if rlim(u.Soft) > rlim(u.Hard) {
		return invalidf("ulimit soft limit must be less than or equal to hard limit: %d > %d", u.Soft, u.Hard)
	}
	return nil
}

// sysctls allows only namespaced sysctls, and not those of a namespace
// shared with the host, as docker does.
func (b *builder) sysctls() error {
	for k, v := range b.hc.Sysctls {
		switch {
		case isIPCSysctl(k):
			if b.ipcHost {
				return invalidf("sysctl %q is not allowed in host IPC namespace", k)
			}
		case strings.HasPrefix(k, "net."):
			if b.netHost {
				return invalidf("sysctl %q not allowed in host network namespace", k)
			}
		case k == "kernel.domainname" || k == "kernel.hostname":
			if string(b.hc.UTSMode) == "host" {
				return invalidf("sysctl %q is not allowed in host UTS namespace", k)
			}
		default:
			return invalidf("sysctl %q is not allowed", k)
		}
		if strings.ContainsAny(k, "/\x00") || strings.Contains(k, "..") {
			return invalidf("sysctl %q is not allowed", k)
		}
		b.s.Linux.Sysctl[k] = v
	}
	return nil
}

func isIPCSysctl(k string) bool {
	switch k {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
		return true
	}
	return strings.HasPrefix(k, "fs.mqueue.")
}

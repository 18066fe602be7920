//go:build linux

package oci

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/mount"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/container"
)

// DefaultShmSize is /dev/shm's size when HostConfig.ShmSize is 0 (64 MiB).
const DefaultShmSize = 64 << 20

// DefaultMaskedPaths and DefaultReadonlyPaths are Docker's lists, applied
// unless the container is privileged or HostConfig gives its own lists.
var (
	DefaultMaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	DefaultReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

func (b *builder) defaultMounts() ([]specs.Mount, error) {
	hc := b.hc
	sysOpts := []string{"nosuid", "noexec", "nodev"}
	if !hc.Privileged || hc.ReadonlyRootfs {
		sysOpts = append(sysOpts, "ro")
	}
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: append(slices.Clone(sysOpts), "relatime")},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	if hc.ShmSize < 0 {
		return nil, invalidf("SHM size can not be less than 0")
	}
	switch {
	case b.ipcNone:
	case b.ipcHost:
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "nosuid", "noexec", "nodev"}})
	case b.ipcContainer != "":
		// The kernel refuses a bind from another mount namespace
		// (/proc/<pid>/root/dev/shm gives EINVAL), so sharing /dev/shm needs
		// the other container's shm on the host, as dockerd keeps it.
		if b.opts.ResolveShm == nil {
			b.opts.warnf("IpcMode %s: /dev/shm is not shared (no shm resolver)", b.hc.IpcMode)
			break
		}
		src, err := b.opts.ResolveShm(b.ipcContainer)
		if err != nil {
			return nil, fmt.Errorf("sharing /dev/shm of container %s: %w", b.ipcContainer, err)
		}
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: src, Options: []string{"rbind", "nosuid", "noexec", "nodev"}})
	case b.opts.ShmPath != "":
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: b.opts.ShmPath, Options: []string{"rbind", "nosuid", "noexec", "nodev"}})
	default:
		size := hc.ShmSize
		if size == 0 {
			size = DefaultShmSize
		}
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", fmt.Sprintf("size=%d", size)}})
	}
	for _, f := range []struct{ src, dst string }{
		{b.opts.ResolvConfPath, "/etc/resolv.conf"},
		{b.opts.HostnamePath, "/etc/hostname"},
		{b.opts.HostsPath, "/etc/hosts"},
	} {
		if f.src == "" {
			continue
		}
		o := []string{"rbind", "rprivate"}
		if hc.ReadonlyRootfs {
			o = append(o, "ro")
		}
		ms = append(ms, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: o})
	}
	return ms, nil
}

// userMounts collects Binds, Mounts and Tmpfs, validated, sorted so that
// a parent directory is mounted before what lies under it.
func (b *builder) userMounts() ([]specs.Mount, error) {
	hc := b.hc
	var out []specs.Mount
	seen := map[string]bool{}
	addDst := func(dst string) error {
		if seen[dst] {
			return invalidf("Duplicate mount point: %s", dst)
		}
		// runc refuses these at start; refusing at create leaves
		// nothing behind and says why.
		if dst == "/proc" || strings.HasPrefix(dst, "/proc/") {
			return invalidf("invalid mount config: %q cannot be mounted because it is inside /proc", dst)
		}
		seen[dst] = true
		return nil
	}
	for _, spec := range hc.Binds {
		bd, err := container.ParseBind(spec)
		if err != nil {
			return nil, err
		}
		if bd.Volume {
			continue // resolved at create into c.Volumes, mounted below
		}
		if err := addDst(bd.Destination); err != nil {
			return nil, err
		}
		// docker creates a missing bind source for -v (not for --mount).
		if _, err := os.Lstat(bd.Source); os.IsNotExist(err) {
			if err := os.MkdirAll(bd.Source, 0o755); err != nil {
				return nil, fmt.Errorf("creating bind source %s: %w", bd.Source, err)
			}
		}
		out = append(out, b.bindMount(bd.Source, bd.Destination, bd.ReadOnly, string(bd.Propagation), false))
	}
	for _, m := range hc.Mounts {
		dst := path.Clean(m.Target)
		if m.Target == "" || !path.IsAbs(m.Target) {
			return nil, invalidf("invalid mount config for type %q: invalid mount path: '%s' mount path must be absolute", m.Type, m.Target)
		}
		if dst == "/" {
			return nil, invalidf("invalid mount config for type %q: invalid specification: destination can't be '/'", m.Type)
		}
		if m.Type == mount.TypeVolume {
			continue // resolved at create into c.Volumes, mounted below
		}
		if err := addDst(dst); err != nil {
			return nil, err
		}
		switch m.Type {
		case mount.TypeBind:
			if m.Source == "" || !path.IsAbs(m.Source) {
				return nil, invalidf("invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute", m.Source)
			}
			if _, err := os.Stat(m.Source); err != nil {
				return nil, invalidf("invalid mount config for type \"bind\": bind source path does not exist: %s", m.Source)
			}
			prop, nonRec := "", false
			if m.BindOptions != nil {
				prop, nonRec = string(m.BindOptions.Propagation), m.BindOptions.NonRecursive
			}
			out = append(out, b.bindMount(path.Clean(m.Source), dst, m.ReadOnly, prop, nonRec))
		case mount.TypeTmpfs:
			if m.Source != "" {
				return nil, invalidf("invalid mount config for type \"tmpfs\": source must not be specified")
			}
			var o []string
			if m.TmpfsOptions != nil {
				if m.TmpfsOptions.SizeBytes < 0 {
					return nil, invalidf("invalid mount config for type \"tmpfs\": invalid tmpfs size %d", m.TmpfsOptions.SizeBytes)
				}
				if m.TmpfsOptions.SizeBytes > 0 {
					o = append(o, fmt.Sprintf("size=%dk", (m.TmpfsOptions.SizeBytes+1023)/1024))
				}
				if m.TmpfsOptions.Mode != 0 {
					o = append(o, fmt.Sprintf("mode=%o", modeBits(m.TmpfsOptions.Mode)))
				}
			}
			if m.ReadOnly {
				o = append(o, "ro")
			}
			out = append(out, specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: tmpfsOptions(o)})
		default:
			return nil, invalidf("mount type %q is not supported yet: use bind or tmpfs", m.Type)
		}
	}
	for dst, opts := range hc.Tmpfs {
		if !path.IsAbs(dst) {
			return nil, invalidf("invalid mount config for type \"tmpfs\": invalid mount path: '%s' mount path must be absolute", dst)
		}
		d := path.Clean(dst)
		if d == "/" {
			return nil, invalidf("invalid mount config for type \"tmpfs\": invalid specification: destination can't be '/'")
		}
		if err := addDst(d); err != nil {
			return nil, err
		}
		var o []string
		if opts != "" {
			for _, x := range strings.Split(opts, ",") {
				if x == "" {
					return nil, invalidf("invalid tmpfs options for %s: %q", dst, opts)
				}
				if v, ok := strings.CutPrefix(x, "size="); ok {
					if _, err := units.RAMInBytes(v); err != nil {
						return nil, invalidf("invalid tmpfs size for %s: %q", dst, v)
					}
				}
				o = append(o, x)
			}
		}
		out = append(out, specs.Mount{Destination: d, Type: "tmpfs", Source: "tmpfs", Options: tmpfsOptions(o)})
	}
	for _, v := range b.c.Volumes {
		if err := addDst(v.Destination); err != nil {
			return nil, err
		}
		out = append(out, b.bindMount(v.Source, v.Destination, !v.RW, string(v.Propagation), false))
	}
	slices.SortStableFunc(out, func(a, b specs.Mount) int {
		if da, db := depth(a.Destination), depth(b.Destination); da != db {
			return da - db
		}
		return strings.Compare(a.Destination, b.Destination)
	})
	return out, nil
}

func depth(p string) int { return strings.Count(path.Clean(p), "/") }

// tmpfsOptions is docker's default (noexec, nosuid, nodev) overridden by
// the user's options.
func tmpfsOptions(user []string) []string {
	opts := []string{"noexec", "nosuid", "nodev"}
	for _, u := range user {
		switch u {
		case "exec", "suid", "dev":
			opts = slices.DeleteFunc(opts, func(o string) bool { return o == "no"+u })
			continue
		}
		opts = append(opts, u)
	}
	return opts
}

func (b *builder) bindMount(src, dst string, ro bool, prop string, nonRecursive bool) specs.Mount {
	o := []string{"rbind"}
	if nonRecursive {
		o[0] = "bind"
	}
	if ro {
		o = append(o, "ro")
	}
	if prop == "" {
		prop = "rprivate"
	}
	o = append(o, prop)
	switch prop {
	case "shared", "rshared":
		b.s.Linux.RootfsPropagation = "rshared"
	case "slave", "rslave":
		if b.s.Linux.RootfsPropagation != "rshared" {
			b.s.Linux.RootfsPropagation = "rslave"
		}
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: o}
}

// mounts puts default and user mounts together; a user mount replaces the
// default at the same destination (a user /dev/shm replaces berth's).
func (b *builder) mounts() error {
	defs, err := b.defaultMounts()
	if err != nil {
		return err
	}
	user, err := b.userMounts()
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	for _, m := range user {
		taken[m.Destination] = true
	}
	var ms []specs.Mount
	for _, m := range defs {
		if !taken[m.Destination] {
			ms = append(ms, m)
		}
	}
	b.s.Mounts = append(ms, user...)
	return nil
}

// modeBits gives a mode's octal bits; clients send either raw bits (the
// docker CLI parses "1777" as a number) or Go's mode flags.
func modeBits(m os.FileMode) uint32 {
	b := uint32(m) & 0o7777
	if m&os.ModeSticky != 0 {
		b |= 0o1000
	}
	if m&os.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&os.ModeSetuid != 0 {
		b |= 0o4000
	}
	return b
}

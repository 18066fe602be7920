package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A Plan is Prepare, Pivot and Finish compiled into plain steps, for an init
// that runs without the Go runtime (internal/runtime/nsexec's C init). Every
// decision that needs only the spec (option words, devices, what stays
// writable until Finish) is taken here, once, by the same code the Go init
// uses; the executor only performs the steps, resolving each destination
// inside the rootfs itself (openat2 RESOLVE_IN_ROOT, the real path checked
// against the rootfs and /proc as in Prepare), because only it sees the
// filesystem at that moment.
//
// Compile refuses (ErrNotPlannable) whatever only the Go init handles — a
// user namespace, NoPivot, NoMountNS, idmapped mounts — and any spec error,
// so that the Go init reports it with its usual message.
type Plan struct {
	// Propagation is what "/" gets first (rslave by default); the mount
	// holding the rootfs becomes private, or slave when this has MS_SLAVE.
	Propagation uintptr
	Mounts      []PlannedMount
	// Devices is empty and DevLinks false when the spec binds /dev.
	Devices  []PlannedDevice
	DevLinks bool
	// After the pivot, in this order: ReadonlyPaths, MaskedPaths, DelayedRO,
	// a read-only "/" (ReadonlyRoot), then FinalPropagation on "/" when it
	// is shared or unbindable.
	ReadonlyPaths    []string
	MaskedPaths      []string
	DelayedRO        []DelayedRO
	ReadonlyRoot     bool
	FinalPropagation uintptr
}

// MountKind says how a planned mount is made.
type MountKind int

const (
	// MountBind binds Source (absolute) onto Dest, then remounts it with
	// RemountFlags when Remount is set.
	MountBind MountKind = iota + 1
	// MountFS mounts a new filesystem of FSType.
	MountFS
	// MountProcSys mounts proc or sysfs on a real directory (no symlink on
	// the way).
	MountProcSys
	// MountCgroup mounts the container's cgroup view (see mountCgroup);
	// CgroupAttrs are the MOUNT_ATTR_* bits of its hierarchies.
	MountCgroup
)

// PlannedMount is one spec mount, its options parsed.
type PlannedMount struct {
	Kind   MountKind
	Source string
	Dest   string // absolute and clean
	FSType string
	// Flags are the MS_* flags of the mount(2) call (for a bind: MS_BIND and
	// maybe MS_REC).
	Flags uintptr
	Data  string
	// File says the destination is created as a file (a bind of a
	// non-directory).
	File bool
	// KeepMode says a tmpfs over an existing directory takes that
	// directory's mode (prepended to Data as mode=).
	KeepMode bool
	// Remount, for binds: flags for MS_REMOUNT|MS_BIND; Clear are the flags
	// the options clear explicitly (a locked one cannot be).
	Remount      bool
	RemountFlags uintptr
	Clear        uintptr
	Propagation  []uintptr
	Rec          bool
	RecSet       uint64
	RecClr       uint64
	CgroupAttrs  int
}

// PlannedDevice is a node to create under /dev (or wherever the spec says).
type PlannedDevice struct {
	Path         string // in the container, clean and absolute
	Kind         uint32 // S_IFCHR, S_IFBLK or S_IFIFO
	Major, Minor uint32
	Mode         uint32
	UID, GID     uint32
}

// DelayedRO is a tmpfs or /dev mount made writable and turned read-only by
// Finish: recursively (mount_setattr) when Rec, else with a bind remount.
type DelayedRO struct {
	Dest string
	Rec  bool
}

// ErrNotPlannable says the configuration needs the Go init.
var ErrNotPlannable = errors.New("rootfs: configuration needs the Go init")

// Compile turns cfg into a Plan, or returns an error wrapping
// ErrNotPlannable.
func Compile(cfg *Config) (*Plan, error) {
	no := func(why string) (*Plan, error) { return nil, fmt.Errorf("%w: %s", ErrNotPlannable, why) }
	if err := cfg.check(); err != nil {
		return no(err.Error())
	}
	if cfg.UserNS || cfg.NoPivot || cfg.NoMountNS {
		return no("user namespace, no pivot or no mount namespace")
	}
	prop, err := parsePropagation(cfg.rootPropagation())
	if err != nil {
		return no(err.Error())
	}
	p := &Plan{Propagation: prop, ReadonlyRoot: cfg.readonlyRoot()}
	if prop == 0 {
		p.Propagation = unix.MS_SLAVE | unix.MS_REC
	}
	if prop&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
		p.FinalPropagation = prop
	}
	for _, m := range cfg.Spec.Mounts {
		o, err := parseOptions(m.Options)
		if err != nil {
			return no(err.Error())
		}
		if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
			return no("idmapped mount")
		}
		dest := cleanDest(m.Destination)
		if dest == "/" {
			return no("mount over /")
		}
		if m.Type == "bind" {
			o.set |= unix.MS_BIND
		}
		pm := PlannedMount{Source: m.Source, Dest: dest, FSType: m.Type, Data: o.dataString(),
			Propagation: o.propagation, Rec: o.rec, RecSet: o.recSet, RecClr: o.recClr}
		switch {
		case o.bind():
			src := m.Source
			if !filepath.IsAbs(src) {
				if cfg.Bundle == "" {
					return no("relative bind source without a bundle")
				}
				src = filepath.Join(cfg.Bundle, src)
			}
			var st unix.Stat_t
			if err := unix.Stat(src, &st); err != nil {
				return no("bind source: " + err.Error())
			}
			pm.Kind, pm.Source = MountBind, src
			pm.File = st.Mode&unix.S_IFMT != unix.S_IFDIR
			pm.Flags = unix.MS_BIND | o.set&unix.MS_REC
			if o.set&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) != 0 || o.clear != 0 {
				pm.Remount = true
				pm.RemountFlags = unix.MS_REMOUNT | unix.MS_BIND | o.set&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT)
				pm.Clear = o.clear
			}
		case m.Type == "proc" || m.Type == "sysfs":
			pm.Kind = MountProcSys
			pm.Flags = o.set &^ (unix.MS_BIND | unix.MS_REC)
		case m.Type == "cgroup":
			// A new view gets only the propagation; Remount and the
			// recursive attributes serve the fallback bind of the host's
			// hierarchy (bindHostCgroup).
			pm.Kind = MountCgroup
			pm.CgroupAttrs = mountAttrs(o.set)
			pm.Remount = true
			pm.RemountFlags = unix.MS_REMOUNT | unix.MS_BIND | o.set&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT)
			pm.Clear = o.clear
		case m.Type == "":
			return no("mount without a type")
		default:
			pm.Kind = MountFS
			oo := o
			if delayRO(m.Type, dest) {
				oo.set &^= unix.MS_RDONLY
				oo.recSet &^= unix.MOUNT_ATTR_RDONLY
			}
			pm.Flags = oo.set &^ (unix.MS_BIND | unix.MS_REC)
			pm.RecSet = oo.recSet
			pm.KeepMode = m.Type == "tmpfs"
		}
		p.Mounts = append(p.Mounts, pm)
		// As Finish: what stayed writable for the later steps.
		if !o.bind() && delayRO(m.Type, dest) {
			switch {
			case o.recSet&unix.MOUNT_ATTR_RDONLY != 0:
				p.DelayedRO = append(p.DelayedRO, DelayedRO{Dest: dest, Rec: true})
			case o.set&unix.MS_RDONLY != 0:
				p.DelayedRO = append(p.DelayedRO, DelayedRO{Dest: dest})
			}
		}
	}
	if !bindsDev(cfg.Spec) {
		devs, err := deviceList(cfg.Spec)
		if err != nil {
			return no(err.Error())
		}
		for _, d := range devs {
			p.Devices = append(p.Devices, PlannedDevice{Path: d.path, Kind: d.kind, Major: d.major, Minor: d.minor, Mode: d.mode, UID: d.uid, GID: d.gid})
		}
		p.DevLinks = true
	}
	if l := cfg.Spec.Linux; l != nil {
		p.ReadonlyPaths = l.ReadonlyPaths
		p.MaskedPaths = l.MaskedPaths
	}
	return p, nil
}

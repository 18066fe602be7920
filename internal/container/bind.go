package container

import (
	"fmt"
	"path"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// Bind is one parsed HostConfig.Binds entry ("/host:/ctr[:opts]").
type Bind struct {
	Source      string
	Destination string
	ReadOnly    bool
	Mode        string // the options as given ("ro,Z"), for inspect
	Propagation mount.Propagation
	// Relabel is "z" or "Z" as given; there is no SELinux here, so it is
	// recorded and otherwise ignored, as docker does without SELinux.
	Relabel string
	NoCopy  bool
	// Volume says Source is a volume name, not a host path; an empty
	// Source with Volume is an anonymous volume ("-v /path").
	Volume bool
}

// VolumeMount is one volume in a container, as its record keeps it.
type VolumeMount struct {
	Type        mount.Type // volume, or bind for a bind shared by --volumes-from
	Name        string     // the volume's name; empty for a bind
	Source      string     // the volume's data directory, or the bind's host path
	Destination string
	RW          bool
	Mode        string // the options as given ("ro,nocopy"), for inspect
	Propagation mount.Propagation
	// Anonymous volumes were made for this container: rm -v removes them.
	Anonymous bool
	// CopyData: the image's content at Destination is copied into the
	// volume at the first start if the volume is empty then.
	CopyData bool
}

// ParseBind parses a HostConfig.Binds entry. Only host paths are accepted:
// named volumes come with the volume subsystem. Errors are invalid-parameter
// with docker's "invalid volume specification" wording.
func ParseBind(spec string) (Bind, error) {
	bad := func(why string) (Bind, error) {
		return Bind{}, invalid(fmt.Sprintf("invalid volume specification: '%s': %s", spec, why))
	}
	if strings.ContainsRune(spec, 0) {
		return bad("contains a NUL byte")
	}
	parts := strings.Split(spec, ":")
	var b Bind
	switch len(parts) {
	case 1:
		// "/path": an anonymous volume.
		if !strings.HasPrefix(spec, "/") {
			return bad(fmt.Sprintf("invalid mount config: destination %q is not an absolute path", spec))
		}
		b.Destination, b.Volume = path.Clean(spec), true
		if b.Destination == "/" {
			return bad("destination can't be '/'")
		}
		return b, nil
	case 2:
	case 3:
		b.Mode = parts[2]
	default:
		return bad("expected /host/path:/container/path[:options]")
	}
	b.Source, b.Destination = parts[0], parts[1]
	if b.Source == "" || b.Destination == "" {
		return bad("empty path")
	}
	b.Volume = !strings.HasPrefix(b.Source, "/")
	if !strings.HasPrefix(b.Destination, "/") {
		return bad(fmt.Sprintf("invalid mount config: destination %q is not an absolute path", b.Destination))
	}
	if !b.Volume {
		b.Source = path.Clean(b.Source)
	}
	b.Destination = path.Clean(b.Destination)
	if b.Destination == "/" {
		return bad("destination can't be '/'")
	}
	if parts[len(parts)-1] == "" && len(parts) == 3 {
		return bad("empty options")
	}
	var rwSeen, propSeen, labelSeen bool
	if b.Mode != "" {
		for _, o := range strings.Split(b.Mode, ",") {
			switch o {
			case "ro", "rw":
				if rwSeen {
					return bad("invalid mode: " + b.Mode)
				}
				rwSeen, b.ReadOnly = true, o == "ro"
			case "z", "Z":
				if labelSeen {
					return bad("invalid mode: " + b.Mode)
				}
				labelSeen, b.Relabel = true, o
			case "shared", "rshared", "slave", "rslave", "private", "rprivate":
				if propSeen {
					return bad("invalid mode: " + b.Mode)
				}
				propSeen, b.Propagation = true, mount.Propagation(o)
			case "nocopy":
				b.NoCopy = true
			default:
				return bad("invalid mode: " + b.Mode)
			}
		}
	}
	return b, nil
}

// MountPoints lists the container's mounts as inspect and list show them:
// Binds and Mounts (bind, tmpfs, ...), in that order. Entries that do not
// parse are left out; creation rejects them before a record exists.
func (c *Container) MountPoints() []container.MountPoint {
	var out []container.MountPoint
	if c.HostConfig == nil {
		return out
	}
	for _, s := range c.HostConfig.Binds {
		b, err := ParseBind(s)
		if err != nil || b.Volume {
			continue // volumes are listed from c.Volumes
		}
		prop := b.Propagation
		if prop == "" {
			prop = mount.PropagationRPrivate
		}
		out = append(out, container.MountPoint{Type: mount.TypeBind, Source: b.Source, Destination: b.Destination, Mode: b.Mode, RW: !b.ReadOnly, Propagation: prop})
	}
	for _, m := range c.HostConfig.Mounts {
		if m.Type == mount.TypeVolume {
			continue
		}
		v := container.MountPoint{Type: m.Type, Source: m.Source, Destination: m.Target, RW: !m.ReadOnly}
		if m.Type == mount.TypeBind {
			v.Propagation = mount.PropagationRPrivate
			if m.BindOptions != nil && m.BindOptions.Propagation != "" {
				v.Propagation = m.BindOptions.Propagation
			}
		}
		out = append(out, v)
	}
	for _, vm := range c.Volumes {
		mp := container.MountPoint{Type: vm.Type, Name: vm.Name, Source: vm.Source, Destination: vm.Destination, Mode: vm.Mode, RW: vm.RW, Propagation: vm.Propagation}
		if vm.Type == mount.TypeVolume {
			mp.Driver = "local"
		}
		out = append(out, mp)
	}
	return out
}

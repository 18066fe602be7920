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
	if !strings.HasPrefix(b.Source, "/") {
		return bad("named volumes are not supported yet: the source must be an absolute host path")
	}
	if !strings.HasPrefix(b.Destination, "/") {
		return bad(fmt.Sprintf("invalid mount config: destination %q is not an absolute path", b.Destination))
	}
	b.Source, b.Destination = path.Clean(b.Source), path.Clean(b.Destination)
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
		if err != nil {
			continue
		}
		prop := b.Propagation
		if prop == "" {
			prop = mount.PropagationRPrivate
		}
		out = append(out, container.MountPoint{Type: mount.TypeBind, Source: b.Source, Destination: b.Destination, Mode: b.Mode, RW: !b.ReadOnly, Propagation: prop})
	}
	for _, m := range c.HostConfig.Mounts {
		v := container.MountPoint{Type: m.Type, Source: m.Source, Destination: m.Target, RW: !m.ReadOnly}
		if m.Type == mount.TypeBind {
			v.Propagation = mount.PropagationRPrivate
			if m.BindOptions != nil && m.BindOptions.Propagation != "" {
				v.Propagation = m.BindOptions.Propagation
			}
		}
		out = append(out, v)
	}
	return out
}

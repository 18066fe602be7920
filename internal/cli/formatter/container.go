package formatter

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
)

// ContainerFormat is `ps`'s default table.
const ContainerFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

// ContainerHeader titles `ps`'s columns.
var ContainerHeader = Header{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
	"Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES",
	"Networks": "NETWORKS", "State": "STATE", "Platform": "PLATFORM",
}

// ContainerRow is one `ps` row; its methods are the template's fields.
type ContainerRow struct {
	c     container.Summary
	trunc bool
	now   time.Time
}

// NewContainerRow describes c; trunc shortens IDs and commands as `ps`
// does without --no-trunc; now is the time ages are measured from.
func NewContainerRow(c container.Summary, trunc bool, now time.Time) ContainerRow {
	return ContainerRow{c: c, trunc: trunc, now: now}
}

// MarshalJSON prints every field, as `--format json` does.
func (r ContainerRow) MarshalJSON() ([]byte, error) { return MarshalFields(r) }

// ID is the container ID, 12 characters unless --no-trunc.
func (r ContainerRow) ID() string {
	if r.trunc {
		return ShortID(r.c.ID)
	}
	return r.c.ID
}

// Names lists the names without their leading slash; links (names with
// another slash) show only with --no-trunc.
func (r ContainerRow) Names() string {
	var names []string
	for _, n := range r.c.Names {
		n = strings.TrimPrefix(n, "/")
		if r.trunc && strings.Contains(n, "/") {
			continue
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

// Image is the image as the container was created from it; a bare image
// ID is shortened and a digest dropped unless --no-trunc.
func (r ContainerRow) Image() string {
	img := r.c.Image
	if img == "" {
		return "<no image>"
	}
	if !r.trunc {
		return img
	}
	if id, ok := strings.CutPrefix(img, "sha256:"); ok && len(id) == 64 {
		return ShortID(id)
	}
	if name, _, ok := strings.Cut(img, "@"); ok && name != "" {
		return name
	}
	return img
}

// Command is the quoted command, cut to 20 characters unless --no-trunc.
func (r ContainerRow) Command() string {
	cmd := r.c.Command
	if r.trunc {
		cmd = Ellipsis(cmd, 20)
	}
	return strconv.Quote(cmd)
}

// CreatedAt is the creation time.
func (r ContainerRow) CreatedAt() string {
	return time.Unix(r.c.Created, 0).String()
}

// RunningFor is how long ago the container was created.
func (r ContainerRow) RunningFor() string {
	return units.HumanDuration(r.now.UTC().Sub(time.Unix(r.c.Created, 0))) + " ago"
}

// Status is the daemon's human status ("Up 2 hours").
func (r ContainerRow) Status() string { return r.c.Status }

// State is the state word ("running").
func (r ContainerRow) State() string { return string(r.c.State) }

// Ports lists published and exposed ports.
func (r ContainerRow) Ports() string { return DisplayPorts(r.c.Ports) }

// Size is the writable layer's size (and the rootfs's), when asked for.
func (r ContainerRow) Size() string {
	s := units.HumanSizeWithPrecision(float64(r.c.SizeRw), 3)
	if r.c.SizeRootFs > 0 {
		s += fmt.Sprintf(" (virtual %s)", units.HumanSizeWithPrecision(float64(r.c.SizeRootFs), 3))
	}
	return s
}

// Labels is "k=v" pairs joined by commas.
func (r ContainerRow) Labels() string {
	var kv []string
	for k, v := range r.c.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Label returns one label's value.
func (r ContainerRow) Label(name string) string { return r.c.Labels[name] }

// Mounts lists mount names (volume names, or sources).
func (r ContainerRow) Mounts() string {
	var m []string
	for _, mp := range r.c.Mounts {
		name := mp.Name
		if name == "" {
			name = mp.Source
		}
		if r.trunc {
			name = Ellipsis(name, 15)
		}
		m = append(m, name)
	}
	return strings.Join(m, ",")
}

// LocalVolumes counts mounts of local volumes.
func (r ContainerRow) LocalVolumes() string {
	n := 0
	for _, mp := range r.c.Mounts {
		if mp.Driver == "local" {
			n++
		}
	}
	return strconv.Itoa(n)
}

// Networks lists the networks the container is attached to.
func (r ContainerRow) Networks() string {
	if r.c.NetworkSettings == nil {
		return ""
	}
	var n []string
	for k := range r.c.NetworkSettings.Networks {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ",")
}

// Platform is the image platform, when the daemon reports it.
func (r ContainerRow) Platform() any {
	if d := r.c.ImageManifestDescriptor; d != nil && d.Platform != nil {
		return d.Platform
	}
	return nil
}

// DisplayPorts renders ports as docker's ps does: "0.0.0.0:8080->80/tcp"
// for published ports, "80/tcp" for exposed ones, sorted, comma-separated;
// runs of consecutive ports collapse into ranges.
func DisplayPorts(ports []container.PortSummary) string {
	type key struct {
		ip, proto string
		published bool
	}
	type run struct {
		k                  key
		priv, pub, privEnd int
	}
	sorted := append([]container.PortSummary(nil), ports...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.IP.String() != b.IP.String() {
			return a.IP.String() < b.IP.String()
		}
		if a.PrivatePort != b.PrivatePort {
			return a.PrivatePort < b.PrivatePort
		}
		return a.PublicPort < b.PublicPort
	})
	var runs []run
	for _, p := range sorted {
		k := key{proto: p.Type, published: p.PublicPort != 0}
		if p.IP.IsValid() {
			k.ip = p.IP.String()
		}
		if n := len(runs); n > 0 {
			last := &runs[n-1]
			step := int(p.PrivatePort) - last.privEnd
			pubStep := int(p.PublicPort) - (last.pub + last.privEnd - last.priv)
			if last.k == k && step == 1 && (!k.published || pubStep == 1) {
				last.privEnd = int(p.PrivatePort)
				continue
			}
		}
		runs = append(runs, run{k: k, priv: int(p.PrivatePort), pub: int(p.PublicPort), privEnd: int(p.PrivatePort)})
	}
	out := make([]string, 0, len(runs))
	for _, r := range runs {
		priv := strconv.Itoa(r.priv)
		pub := strconv.Itoa(r.pub)
		if r.privEnd != r.priv {
			priv += "-" + strconv.Itoa(r.privEnd)
			pub += "-" + strconv.Itoa(r.pub+r.privEnd-r.priv)
		}
		if !r.k.published {
			out = append(out, priv+"/"+r.k.proto)
			continue
		}
		host := pub
		if r.k.ip != "" {
			if strings.Contains(r.k.ip, ":") {
				host = "[" + r.k.ip + "]:" + pub
			} else {
				host = r.k.ip + ":" + pub
			}
		}
		out = append(out, host+"->"+priv+"/"+r.k.proto)
	}
	return strings.Join(out, ", ")
}

// ShortID cuts an ID (with or without "sha256:") to docker's 12 characters.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

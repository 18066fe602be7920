package formatter

import (
	"fmt"
	"sort"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/volume"
)

// VolumeFormat is `volume ls`'s default table.
const VolumeFormat = "table {{.Driver}}\t{{.Name}}"

// VolumeHeader titles `volume ls`'s columns.
var VolumeHeader = Header{
	"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
	"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE",
}

// VolumeRow is one `volume ls` row.
type VolumeRow struct{ v volume.Volume }

// NewVolumeRow wraps a volume for the formatter.
func NewVolumeRow(v volume.Volume) VolumeRow { return VolumeRow{v: v} }

// MarshalJSON is what "json" prints for a row.
func (r VolumeRow) MarshalJSON() ([]byte, error) { return MarshalFields(r) }

// Name is the volume's name.
func (r VolumeRow) Name() string { return r.v.Name }

// Driver is the volume's driver.
func (r VolumeRow) Driver() string { return r.v.Driver }

// Scope is local or global.
func (r VolumeRow) Scope() string { return r.v.Scope }

// Mountpoint is where the volume's data lives on the host.
func (r VolumeRow) Mountpoint() string { return r.v.Mountpoint }

// Labels is "k=v" pairs joined by commas, sorted.
func (r VolumeRow) Labels() string {
	var kv []string
	for k, v := range r.v.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Label returns one label's value.
func (r VolumeRow) Label(name string) string { return r.v.Labels[name] }

// Links is how many containers use the volume, N/A when not computed.
func (r VolumeRow) Links() string {
	if r.v.UsageData == nil {
		return "N/A"
	}
	return fmt.Sprint(r.v.UsageData.RefCount)
}

// Size is the volume's disk use, N/A when not computed.
func (r VolumeRow) Size() string {
	if r.v.UsageData == nil || r.v.UsageData.Size < 0 {
		return "N/A"
	}
	return units.HumanSize(float64(r.v.UsageData.Size))
}

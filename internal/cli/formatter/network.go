package formatter

import (
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
)

// NetworkFormat is `network ls`'s default table.
const NetworkFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

// NetworkHeader titles `network ls`'s columns.
var NetworkHeader = Header{
	"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
	"IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}

// NetworkRow is one `network ls` row.
type NetworkRow struct {
	n     network.Summary
	trunc bool
}

// NewNetworkRow wraps a network for the formatter; trunc shortens the ID.
func NewNetworkRow(n network.Summary, trunc bool) NetworkRow { return NetworkRow{n: n, trunc: trunc} }

// MarshalJSON is what "json" prints for a row.
func (r NetworkRow) MarshalJSON() ([]byte, error) { return MarshalFields(r) }

// ID is the network's ID, 12 characters unless --no-trunc.
func (r NetworkRow) ID() string {
	if r.trunc && len(r.n.ID) > 12 {
		return r.n.ID[:12]
	}
	return r.n.ID
}

// Name is the network's name.
func (r NetworkRow) Name() string { return r.n.Name }

// Driver is the network's driver.
func (r NetworkRow) Driver() string { return r.n.Driver }

// Scope is local.
func (r NetworkRow) Scope() string { return r.n.Scope }

// IPv4 and IPv6 say whether the network has the family enabled.
func (r NetworkRow) IPv4() string { return strconv.FormatBool(r.n.EnableIPv4) }
func (r NetworkRow) IPv6() string { return strconv.FormatBool(r.n.EnableIPv6) }

// Internal says whether the network is internal.
func (r NetworkRow) Internal() string { return strconv.FormatBool(r.n.Internal) }

// CreatedAt is the creation time.
func (r NetworkRow) CreatedAt() string { return r.n.Created.String() }

// Labels is "k=v" pairs joined by commas, sorted.
func (r NetworkRow) Labels() string {
	var kv []string
	for k, v := range r.n.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Label returns one label's value.
func (r NetworkRow) Label(name string) string { return r.n.Labels[name] }

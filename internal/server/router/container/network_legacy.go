package container

import (
	"context"
	"net/netip"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/server/httputil"
)

// Before API 1.52, inspect's NetworkSettings also carried the default
// bridge's endpoint at its top level (IPAddress, Gateway, MacAddress, ...),
// which templates such as {{.NetworkSettings.IPAddress}} still read; the
// wire type of API 1.57 no longer has those fields, so they are added here.

type legacyNetworkSettings struct {
	ctypes.NetworkSettings
	Bridge                 string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	SecondaryIPAddresses   []any
	SecondaryIPv6Addresses []any
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
}

type legacyInspect struct {
	*ctypes.InspectResponse
	NetworkSettings *legacyNetworkSettings
}

// inspectForVersion returns resp as the request's API version shows it.
func inspectForVersion(ctx context.Context, resp *ctypes.InspectResponse) any {
	v := httputil.VersionFromContext(ctx)
	if resp.NetworkSettings == nil || v == "" || !apiBefore(v, "1.52") {
		return resp
	}
	ls := &legacyNetworkSettings{NetworkSettings: *resp.NetworkSettings}
	if ep := resp.NetworkSettings.Networks["bridge"]; ep != nil {
		str := func(a netip.Addr) string {
			if a.IsValid() {
				return a.String()
			}
			return ""
		}
		ls.EndpointID, ls.Gateway, ls.IPAddress, ls.IPPrefixLen = ep.EndpointID, str(ep.Gateway), str(ep.IPAddress), ep.IPPrefixLen
		ls.IPv6Gateway, ls.GlobalIPv6Address, ls.GlobalIPv6PrefixLen = str(ep.IPv6Gateway), str(ep.GlobalIPv6Address), ep.GlobalIPv6PrefixLen
		if len(ep.MacAddress) > 0 {
			ls.MacAddress = ep.MacAddress.String()
		}
	}
	return legacyInspect{InspectResponse: resp, NetworkSettings: ls}
}

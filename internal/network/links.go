package network

import (
	"context"
	"net"
	"net/netip"

	"github.com/berth-engine/berth/internal/network/firewall"
)

// Firewall is what the manager needs of network/firewall's Backend.
type Firewall interface {
	AddNetwork(ctx context.Context, n firewall.Network) error
	RemoveNetwork(ctx context.Context, n firewall.Network) error
}

func fwNetwork(n *Network) firewall.Network {
	return firewall.Network{Bridge: n.Bridge, Subnet: n.Subnet, Internal: n.Internal, ICC: n.ICC, Masquerade: n.Masq}
}

// FirewallNetwork is the firewall's view of a bridge network.
func FirewallNetwork(n *Network) firewall.Network { return fwNetwork(n) }

// Iface is the container side of an endpoint.
type Iface struct {
	NSPath       string
	Name         string       // eth0, eth1, ...
	Addr         netip.Prefix // address / subnet length
	Gateway      netip.Addr
	Addr6        netip.Prefix // the IPv6 address, when the network has IPv6
	Gateway6     netip.Addr
	DefaultRoute bool
	MAC          net.HardwareAddr
	MTU          int
}

// Links is the kernel side of the manager (network/bridge on Linux).
type Links interface {
	EnsureBridge(name string, addr, addr6 netip.Prefix, mtu int) error
	DeleteLink(name string) error
	EnsureDummy(name string) error
	LinkExists(name string) bool
	AddVeth(bridge, hostName string, iface Iface) error
	AddMacvlan(parent string, iface Iface) error
	AddIPvlan(parent string, iface Iface) error
	RemoveInside(nsPath, name string) error
	IPvlanSupported() error
}

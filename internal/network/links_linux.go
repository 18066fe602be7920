//go:build linux

package network

import (
	"net/netip"

	"github.com/berth-engine/berth/internal/network/bridge"
)

// KernelLinks is Links through netlink.
type KernelLinks struct{}

func toBridge(i Iface) bridge.Iface {
	return bridge.Iface{NSPath: i.NSPath, Name: i.Name, Addr: i.Addr, Gateway: i.Gateway, Addr6: i.Addr6, Gateway6: i.Gateway6, DefaultRoute: i.DefaultRoute, MAC: i.MAC, MTU: i.MTU}
}

func (KernelLinks) EnsureBridge(name string, addr, addr6 netip.Prefix, mtu int) error {
	return bridge.EnsureBridge(name, addr, addr6, mtu)
}
func (KernelLinks) DeleteLink(name string) error  { return bridge.DeleteLink(name) }
func (KernelLinks) EnsureDummy(name string) error { return bridge.EnsureDummy(name) }
func (KernelLinks) LinkExists(name string) bool   { return bridge.LinkExists(name) }
func (KernelLinks) AddVeth(br, host string, i Iface) error {
	return bridge.AddVeth(br, host, toBridge(i))
}
func (KernelLinks) AddMacvlan(parent string, i Iface) error {
	return bridge.AddMacvlan(parent, toBridge(i))
}
func (KernelLinks) AddIPvlan(parent string, i Iface) error {
	return bridge.AddIPvlan(parent, toBridge(i))
}
func (KernelLinks) RemoveInside(nsPath, name string) error { return bridge.RemoveInside(nsPath, name) }
func (KernelLinks) IPvlanSupported() error                 { return bridge.IPvlanSupported() }

// HostRoutes lists the host's IPv4 route destinations.
func HostRoutes() ([]netip.Prefix, error) { return bridge.HostRoutes() }

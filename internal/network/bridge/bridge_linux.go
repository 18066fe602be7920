//go:build linux

package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// EnsureBridge creates the bridge name if missing, gives it addr (the
// gateway with the subnet's length) when valid, sets its MTU (when > 0) and
// brings it up. An existing bridge is adopted as it is, with addr added.
func EnsureBridge(name string, addr, addr6 netip.Prefix, mtu int) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("bridge %s: %w", name, err)
		}
		la := netlink.NewLinkAttrs()
		la.Name = name
		if mtu > 0 {
			la.MTU = mtu
		}
		br := &netlink.Bridge{LinkAttrs: la}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("creating bridge %s: %w", name, err)
		}
		if l, err = netlink.LinkByName(name); err != nil {
			return fmt.Errorf("bridge %s: %w", name, err)
		}
	}
	if _, ok := l.(*netlink.Bridge); !ok {
		return fmt.Errorf("%s exists and is not a bridge (%s)", name, l.Type())
	}
	if addr.IsValid() {
		a := &netlink.Addr{IPNet: ipNet(addr)}
		if err := netlink.AddrReplace(l, a); err != nil {
			return fmt.Errorf("bridge %s address %s: %w", name, addr, err)
		}
	}
	if addr6.IsValid() {
		// no duplicate address detection: the address is ours to use at once
		a := &netlink.Addr{IPNet: ipNet(addr6), Flags: unix.IFA_F_NODAD}
		if err := netlink.AddrReplace(l, a); err != nil {
			return fmt.Errorf("bridge %s address %s: %w", name, addr6, err)
		}
	}
	if mtu > 0 && l.Attrs().MTU != mtu {
		_ = netlink.LinkSetMTU(l, mtu)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("bridge %s up: %w", name, err)
	}
	return nil
}

// EnsureDummy creates the dummy link name if missing and brings it up (a
// macvlan or ipvlan network's parent when none was given). A kernel
// without the dummy driver gets a veth pair instead, name and a peer
// named "dn"+name[2:], which goes with it.
func EnsureDummy(name string) error {
	if _, err := netlink.LinkByName(name); err != nil {
		la := netlink.NewLinkAttrs()
		la.Name = name
		err := netlink.LinkAdd(&netlink.Dummy{LinkAttrs: la})
		if err != nil && !errors.Is(err, unix.EEXIST) {
			err = netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "dn" + name[min(2, len(name)):]})
		}
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("creating dummy link %s: %w", name, err)
		}
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("dummy link %s: %w", name, err)
	}
	if _, isVeth := l.(*netlink.Veth); isVeth {
		// the peer up too, or the pair has no carrier
		if p, err := netlink.LinkByName("dn" + name[min(2, len(name)):]); err == nil {
			_ = netlink.LinkSetUp(p)
		}
	}
	return netlink.LinkSetUp(l)
}

// DeleteLink removes the host link name; a missing link is not an error.
func DeleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}

// LinkExists reports whether the host has a link of that name.
func LinkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// Iface is the container side of an endpoint.
type Iface struct {
	NSPath       string       // the container's network namespace
	Name         string       // inside: eth0, eth1, ...
	Addr         netip.Prefix // its address and the subnet's length
	Gateway      netip.Addr   // the default route, when DefaultRoute
	Addr6        netip.Prefix // an IPv6 address too, when valid
	Gateway6     netip.Addr   // the IPv6 default route, when DefaultRoute
	DefaultRoute bool
	MAC          net.HardwareAddr
	MTU          int
}

// AddVeth creates the veth pair hostName (enslaved to bridge, up) ↔
// iface.Name inside iface.NSPath, and configures the inside end.
func AddVeth(bridge, hostName string, iface Iface) error {
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", bridge, err)
	}
	nsh, err := netns.GetFromPath(iface.NSPath)
	if err != nil {
		return fmt.Errorf("netns %s: %w", iface.NSPath, err)
	}
	defer nsh.Close()
	la := netlink.NewLinkAttrs()
	la.Name = hostName
	la.MasterIndex = br.Attrs().Index
	if iface.MTU > 0 {
		la.MTU = iface.MTU
	} else {
		la.MTU = br.Attrs().MTU
	}
	veth := &netlink.Veth{LinkAttrs: la, PeerName: iface.Name, PeerHardwareAddr: iface.MAC, PeerNamespace: netlink.NsFd(int(nsh))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("creating veth %s: %w", hostName, err)
	}
	host, err := netlink.LinkByName(hostName)
	if err == nil {
		err = netlink.LinkSetUp(host)
	}
	if err == nil {
		err = configureInside(nsh, iface)
	}
	if err != nil {
		_ = DeleteLink(hostName)
		return err
	}
	return nil
}

// AddMacvlan creates a macvlan (bridge mode) on parent directly inside the
// namespace as iface.Name and configures it.
func AddMacvlan(parent string, iface Iface) error {
	return addSub(parent, iface, func(la netlink.LinkAttrs) netlink.Link {
		la.HardwareAddr = iface.MAC
		return &netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_BRIDGE}
	})
}

// AddIPvlan creates an ipvlan (L2 mode) on parent inside the namespace.
func AddIPvlan(parent string, iface Iface) error {
	return addSub(parent, iface, func(la netlink.LinkAttrs) netlink.Link {
		return &netlink.IPVlan{LinkAttrs: la, Mode: netlink.IPVLAN_MODE_L2}
	})
}

func addSub(parent string, iface Iface, mk func(netlink.LinkAttrs) netlink.Link) error {
	p, err := netlink.LinkByName(parent)
	if err != nil {
		return fmt.Errorf("parent interface %s: %w", parent, err)
	}
	nsh, err := netns.GetFromPath(iface.NSPath)
	if err != nil {
		return fmt.Errorf("netns %s: %w", iface.NSPath, err)
	}
	defer nsh.Close()
	la := netlink.NewLinkAttrs()
	la.Name = iface.Name
	la.ParentIndex = p.Attrs().Index
	la.Namespace = netlink.NsFd(int(nsh))
	if iface.MTU > 0 {
		la.MTU = iface.MTU
	}
	if err := netlink.LinkAdd(mk(la)); err != nil {
		return fmt.Errorf("creating %s on %s: %w", iface.Name, parent, err)
	}
	if err := configureInside(nsh, iface); err != nil {
		_ = RemoveInside(iface.NSPath, iface.Name)
		return err
	}
	return nil
}

// RemoveInside deletes the link name inside the namespace at nsPath (the
// veth's host end goes with it); a missing link or namespace is not an error.
func RemoveInside(nsPath, name string) error {
	nsh, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return nil
	}
	return h.LinkDel(l)
}

func configureInside(nsh netns.NsHandle, iface Iface) error {
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(iface.Name)
	if err != nil {
		return fmt.Errorf("%s inside the container: %w", iface.Name, err)
	}
	if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipNet(iface.Addr)}); err != nil {
		return fmt.Errorf("address %s on %s: %w", iface.Addr, iface.Name, err)
	}
	if iface.Addr6.IsValid() {
		if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipNet(iface.Addr6), Flags: unix.IFA_F_NODAD}); err != nil {
			return fmt.Errorf("address %s on %s: %w", iface.Addr6, iface.Name, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("%s up: %w", iface.Name, err)
	}
	if iface.DefaultRoute && iface.Gateway6.IsValid() {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: iface.Gateway6.AsSlice(), Family: netlink.FAMILY_V6}
		if err := h.RouteReplace(r); err != nil {
			return fmt.Errorf("IPv6 default route via %s: %w", iface.Gateway6, err)
		}
	}
	if iface.DefaultRoute && iface.Gateway.IsValid() {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: iface.Gateway.AsSlice(), Dst: nil}
		if err := h.RouteReplace(r); err != nil {
			return fmt.Errorf("default route via %s: %w", iface.Gateway, err)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// HostRoutes returns the IPv4 destinations of the host's routes (the
// default route excluded), for picking subnets no host route uses.
func HostRoutes() ([]netip.Prefix, error) {
	rs, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if a, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok && ones > 0 {
			// (netlink reports the default route as 0.0.0.0/0)
			out = append(out, netip.PrefixFrom(a, ones).Masked())
		}
	}
	return out, nil
}

var (
	ipvlanOnce sync.Once
	ipvlanErr  error
)

// IPvlanSupported reports whether the kernel can make ipvlan links: tried
// once per process, on a dummy parent in a scratch namespace.
func IPvlanSupported() error {
	ipvlanOnce.Do(func() { ipvlanErr = probeIPvlan() })
	return ipvlanErr
}

func probeIPvlan() error {
	if _, err := os.Stat("/sys/module/ipvlan"); err == nil {
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		// The thread dies with its scratch namespace.
		lockThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		// a veth as the parent: not every kernel has the dummy driver
		la := netlink.NewLinkAttrs()
		la.Name = "probe0"
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "probe2"}); err != nil {
			errc <- err
			return
		}
		d, err := netlink.LinkByName("probe0")
		if err != nil {
			errc <- err
			return
		}
		la2 := netlink.NewLinkAttrs()
		la2.Name = "probe1"
		la2.ParentIndex = d.Attrs().Index
		errc <- netlink.LinkAdd(&netlink.IPVlan{LinkAttrs: la2, Mode: netlink.IPVLAN_MODE_L2})
	}()
	return <-errc
}

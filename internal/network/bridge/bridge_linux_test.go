//go:build linux

package bridge

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/berth-engine/berth/internal/network/sandbox"
	"github.com/berth-engine/berth/internal/testutil"
)

// TestVeth: a bridge with its address, a veth whose peer is eth0 inside a
// fresh namespace with the address, MAC and default route asked for; the
// host end's deletion takes the peer along.
func TestVeth(t *testing.T) {
	testutil.RequiresRoot(t)
	var r [3]byte
	rand.Read(r[:])
	br, host := fmt.Sprintf("tb%x", r[:]), fmt.Sprintf("tv%x", r[:])
	if err := EnsureBridge(br, netip.MustParsePrefix("10.251.7.1/24"), netip.Prefix{}, 0); err != nil {
		t.Fatal(err)
	}
	defer DeleteLink(br)
	ns, err := sandbox.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sandbox.Delete(ns.Path)
	mac := net.HardwareAddr{0x02, 0x42, 10, 251, 7, 9}
	if err := AddVeth(br, host, Iface{NSPath: ns.Path, Name: "eth0", Addr: netip.MustParsePrefix("10.251.7.9/24"),
		Gateway: netip.MustParseAddr("10.251.7.1"), DefaultRoute: true, MAC: mac}); err != nil {
		t.Fatal(err)
	}
	h, _ := netns.GetFromPath(ns.Path)
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	eth0, err := nh.LinkByName("eth0")
	if err != nil || eth0.Attrs().HardwareAddr.String() != mac.String() {
		t.Fatalf("eth0: %v %v", eth0, err)
	}
	addrs, _ := nh.AddrList(eth0, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.251.7.9/24" {
		t.Fatalf("addresses %v", addrs)
	}
	routes, _ := nh.RouteList(eth0, netlink.FAMILY_V4)
	def := false
	for _, rt := range routes {
		def = def || (rt.Gw != nil && rt.Gw.String() == "10.251.7.1")
	}
	if !def {
		t.Fatalf("no default route: %v", routes)
	}
	if l, err := netlink.LinkByName(host); err != nil || l.Attrs().MasterIndex == 0 {
		t.Fatalf("host end not on the bridge: %v", err)
	}
	if err := DeleteLink(host); err != nil {
		t.Fatal(err)
	}
	if _, err := nh.LinkByName("eth0"); err == nil {
		t.Fatal("the peer outlived the host end")
	}
}

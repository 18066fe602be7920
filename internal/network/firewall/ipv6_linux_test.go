package firewall

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/network/netns"
)

// serveText answers each TCP connection to addr in namespace ns with text.
func serveText(t *testing.T, ns, addr, text string) {
	t.Helper()
	var l net.Listener
	if err := netns.Do("/var/run/netns/"+ns, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(text))
			c.Close()
		}
	}()
}

// The IPv6 part every backend filters by interface: IPv6 is routed out of a
// plain network, not across to another berth network, and not out of an
// --internal one. (Addresses, NAT and ports are IPv4 only.)
func testIPv6(t *testing.T, open func(tp *topology) (Backend, error), leftover func(tp *topology) string) {
	tp := newTopology(t)
	tp.bridge(t, "brA", "10.99.0.1/24")
	tp.bridge(t, "brB", "10.98.0.1/24")
	tp.container(t, "a1", "brA", "10.99.0.2/24", "10.99.0.1")
	tp.container(t, "b1", "brB", "10.98.0.2/24", "10.98.0.1")
	nsRun(t, tp.host, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	for _, a := range [][]string{
		{tp.host, "fd00:99::1/64", "brA"}, {tp.host, "fd00:98::1/64", "brB"}, {tp.host, "fd00:2::1/64", "out0"},
		{tp.ns["a1"], "fd00:99::2/64", "eth0"}, {tp.ns["b1"], "fd00:98::2/64", "eth0"}, {tp.ext, "fd00:2::2/64", "eth0"},
	} {
		nsRun(t, a[0], "ip", "-6", "addr", "add", a[1], "dev", a[2], "nodad")
	}
	nsRun(t, tp.ns["a1"], "ip", "-6", "route", "add", "default", "via", "fd00:99::1")
	nsRun(t, tp.ns["b1"], "ip", "-6", "route", "add", "default", "via", "fd00:98::1")
	nsRun(t, tp.ext, "ip", "-6", "route", "add", "fd00:99::/64", "via", "fd00:2::1")
	nsRun(t, tp.ext, "ip", "-6", "route", "add", "fd00:98::/64", "via", "fd00:2::1")
	serveText(t, tp.ext, "[fd00:2::2]:7000", "ext6")
	serveText(t, tp.ns["b1"], "[fd00:98::2]:7000", "b16")
	// Link-local addresses (which neighbour discovery uses) are usable
	// once their duplicate detection ends: wait for the paths to work.
	for _, p := range [][2]string{{tp.ns["a1"], "[fd00:2::2]:7000"}, {tp.ns["a1"], "[fd00:98::2]:7000"}} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if got := dial(t, p[0], p[1]); got != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s unreachable over IPv6 without berth's rules", p[1])
			}
		}
	}

	ctx := context.Background()
	fw, err := open(tp)
	if err != nil {
		t.Fatal(err)
	}
	netA := Network{Bridge: "brA", Subnet: netip.MustParsePrefix("10.99.0.0/24"), ICC: true, Masquerade: true}
	netB := Network{Bridge: "brB", Subnet: netip.MustParsePrefix("10.98.0.0/24"), ICC: true, Masquerade: true}
	for _, n := range []Network{netA, netB} {
		if err := fw.AddNetwork(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if got := dial(t, tp.ns["a1"], "[fd00:2::2]:7000"); got != "ext6" {
		t.Errorf("a1 → ext over IPv6 = %q", got)
	}
	if got := dial(t, tp.ns["a1"], "[fd00:98::2]:7000"); got != "" {
		t.Errorf("a1 → b1 over IPv6 across networks = %q, want dropped", got)
	}
	netA.Internal = true
	if err := fw.AddNetwork(ctx, netA); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ns["a1"], "[fd00:2::2]:7000"); got != "" {
		t.Errorf("internal a1 → ext over IPv6 = %q, want dropped", got)
	}
	for _, n := range []Network{netA, netB} {
		if err := fw.RemoveNetwork(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if left := leftover(tp); left != "" {
		t.Errorf("left after Close:\n%s", left)
	}
}

func TestIPTablesIPv6(t *testing.T) {
	if _, err := exec.LookPath("ip6tables"); err != nil {
		t.Skip("no ip6tables")
	}
	testIPv6(t, func(tp *topology) (Backend, error) {
		return New(context.Background(), IPTables, Options{NetNS: tp.hostPath})
	}, func(tp *topology) string {
		var left []string
		for _, bin := range []string{"iptables-save", "ip6tables-save"} {
			for _, l := range strings.Split(nsRun(t, tp.host, bin), "\n") {
				if strings.Contains(l, "BERTH") {
					left = append(left, l)
				}
			}
		}
		return strings.Join(left, "\n")
	})
}

func TestNFTablesIPv6(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("no nft binary")
	}
	testIPv6(t, func(tp *topology) (Backend, error) {
		return New(context.Background(), NFTables, Options{NetNS: tp.hostPath, Table: "berth-test6"})
	}, func(tp *topology) string { return nftTable(t, tp.host, "berth-test6") })
}

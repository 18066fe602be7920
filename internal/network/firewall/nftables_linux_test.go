package firewall

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"
)

func nftTable(t *testing.T, ns, table string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "inet", table).CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}

func TestNFTables(t *testing.T) {
	tp := newTopology(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("no nft binary")
	}
	tp.standard(t)

	// Another engine's nftables table, which must be left as it is.
	nsRun(t, tp.host, "nft", "add table inet other; add chain inet other chain0 { type filter hook forward priority 10; policy accept; }; add rule inet other chain0 iifname \"docker0\" accept")
	otherBefore := nftTable(t, tp.host, "other")

	const table = "berth-test"
	open := func() (Backend, error) {
		return New(context.Background(), NFTables, Options{NetNS: tp.hostPath, Table: table})
	}
	conformance(t, tp, backendCase{
		open:  open,
		rules: func() string { return nftTable(t, tp.host, table) },
		added: []string{
			"type filter hook forward priority filter; policy accept;",
			"type nat hook prerouting priority dstnat; policy accept;",
			"type nat hook postrouting priority srcnat; policy accept;",
			`ip saddr 10.99.0.0/24 oifname != "brA" masquerade`,
			"dnat ip to 10.99.0.2:80",
			`comment "net:brA:isolation"`,
		},
		dnat:  "dnat ip to 10.99.0.2:80",
		masqB: `ip saddr 10.98.0.0/24 oifname != "brB" masquerade`,
		afterAdd: func() {
			// What doc.go says: a DROP policy in iptables' FORWARD wins
			// over berth's accept in its own table.
			nsRun(t, tp.host, "iptables", "-P", "FORWARD", "DROP")
			if got := dial(t, tp.ns["a1"], "192.0.2.2:7000"); got != "" {
				t.Errorf("with iptables FORWARD DROP, a1 → ext = %q; expected the drop to win", got)
			}
			nsRun(t, tp.host, "iptables", "-P", "FORWARD", "ACCEPT")
		},
	})
	if list := nftTable(t, tp.host, table); list != "" {
		t.Errorf("table left after Close:\n%s", list)
	}
	if got := nftTable(t, tp.host, "other"); got != otherBefore {
		t.Errorf("the other table changed:\n%s\nwas:\n%s", got, otherBefore)
	}
	// Removing from a table that is gone is not an error.
	fw, err := open()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	netA := Network{Bridge: "brA", Subnet: netip.MustParsePrefix("10.99.0.0/24")}
	if err := fw.RemoveNetwork(ctx, netA); err != nil {
		t.Errorf("RemoveNetwork without a table: %v", err)
	}
	port := Port{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.99.0.2"), ContainerPort: 80, Bridge: "brA"}
	if err := fw.RemovePort(ctx, port); err != nil {
		t.Errorf("RemovePort without a table: %v", err)
	}
}

// An --internal network's IPv6 cannot leave its bridge either (the table is
// inet), while a plain network's routes out.
func TestNFTablesInternalIPv6(t *testing.T) {
	tp := newTopology(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("no nft binary")
	}
	tp.bridge(t, "brA", "10.99.0.1/24")
	tp.container(t, "a1", "brA", "10.99.0.2/24", "10.99.0.1")
	nsRun(t, tp.host, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	nsRun(t, tp.host, "ip", "-6", "addr", "add", "fd00:99::1/64", "dev", "brA", "nodad")
	nsRun(t, tp.host, "ip", "-6", "addr", "add", "fd00:2::1/64", "dev", "out0", "nodad")
	nsRun(t, tp.ns["a1"], "ip", "-6", "addr", "add", "fd00:99::2/64", "dev", "eth0", "nodad")
	nsRun(t, tp.ns["a1"], "ip", "-6", "route", "add", "default", "via", "fd00:99::1")
	nsRun(t, tp.ext, "ip", "-6", "addr", "add", "fd00:2::2/64", "dev", "eth0", "nodad")
	nsRun(t, tp.ext, "ip", "-6", "route", "add", "fd00:99::/64", "via", "fd00:2::1")
	var l net.Listener
	if err := inNetNS("/var/run/netns/"+tp.ext, func() error {
		var err error
		l, err = net.Listen("tcp6", "[fd00:2::2]:7000")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("ext6"))
			c.Close()
		}
	}()

	// Link-local addresses (which neighbour discovery uses) are usable
	// once their duplicate detection ends: wait for the path to work.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got := dial(t, tp.ns["a1"], "[fd00:2::2]:7000")
		if got == "ext6" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a1 → ext over IPv6 without berth's table = %q", got)
		}
	}
	ctx := context.Background()
	fw, err := New(ctx, NFTables, Options{NetNS: tp.hostPath, Table: "berth-test6"})
	if err != nil {
		t.Fatal(err)
	}
	n := Network{Bridge: "brA", Subnet: netip.MustParsePrefix("10.99.0.0/24"), ICC: true, Masquerade: true}
	if err := fw.AddNetwork(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ns["a1"], "[fd00:2::2]:7000"); got != "ext6" {
		t.Errorf("a1 → ext over IPv6 = %q", got)
	}
	n.Internal = true
	if err := fw.AddNetwork(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ns["a1"], "[fd00:2::2]:7000"); got != "" {
		t.Errorf("internal a1 → ext over IPv6 = %q, want dropped", got)
	}
	if err := fw.RemoveNetwork(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if list := nftTable(t, tp.host, "berth-test6"); list != "" {
		t.Errorf("table left:\n%s", list)
	}
}

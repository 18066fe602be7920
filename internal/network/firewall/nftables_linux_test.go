package firewall

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
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
	ctx := context.Background()
	tp.bridge(t, "brA", "10.99.0.1/24")
	tp.bridge(t, "brB", "10.98.0.1/24")
	tp.container(t, "a1", "brA", "10.99.0.2/24", "10.99.0.1")
	tp.container(t, "b1", "brB", "10.98.0.2/24", "10.98.0.1")
	serve(t, tp.ns["a1"], "a1", 80)
	serve(t, tp.ns["a1"], "a1", 81)
	serve(t, tp.ext, "ext", 7000)

	// Another engine's nftables table, which must be left as it is.
	nsRun(t, tp.host, "nft", "add table inet other; add chain inet other chain0 { type filter hook forward priority 10; policy accept; }; add rule inet other chain0 iifname \"docker0\" accept")
	otherBefore := nftTable(t, tp.host, "other")

	const table = "berth-test"
	fw, err := New(ctx, NFTables, Options{NetNS: tp.hostPath, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if fw.Name() != "nftables" {
		t.Errorf("Name = %q", fw.Name())
	}
	netA := Network{Bridge: "brA", Subnet: netip.MustParsePrefix("10.99.0.0/24"), ICC: true, Masquerade: true}
	netB := Network{Bridge: "brB", Subnet: netip.MustParsePrefix("10.98.0.0/24"), ICC: true, Masquerade: true}
	port := Port{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.99.0.2"), ContainerPort: 80, Bridge: "brA"}
	for i := 0; i < 2; i++ {
		for _, n := range []Network{netA, netB} {
			if err := fw.AddNetwork(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.AddPort(ctx, port); err != nil {
			t.Fatal(err)
		}
	}
	list := nftTable(t, tp.host, table)
	for _, want := range []string{
		"type filter hook forward priority filter; policy accept;",
		"type nat hook prerouting priority dstnat; policy accept;",
		"type nat hook postrouting priority srcnat; policy accept;",
		`ip saddr 10.99.0.0/24 oifname != "brA" masquerade`,
		"dnat ip to 10.99.0.2:80",
		`comment "net:brA:isolation"`,
	} {
		if !strings.Contains(list, want) {
			t.Errorf("missing %q in\n%s", want, list)
		}
	}
	if n := strings.Count(list, "dnat ip to 10.99.0.2:80"); n != 1 {
		t.Errorf("DNAT rule %d times", n)
	}

	if got := dial(t, tp.ns["a1"], "192.0.2.2:7000"); got != "ext 192.0.2.1" {
		t.Errorf("a1 → ext = %q, want masqueraded", got)
	}
	if got := dial(t, tp.ext, "192.0.2.1:8080"); got != "a1 192.0.2.2" {
		t.Errorf("ext → 192.0.2.1:8080 = %q", got)
	}
	if got := dial(t, tp.host, "192.0.2.1:8080"); !strings.HasPrefix(got, "a1 ") {
		t.Errorf("host → 192.0.2.1:8080 = %q", got)
	}
	if got := dial(t, tp.ns["b1"], "10.99.0.2:80"); got != "" {
		t.Errorf("b1 → a1 across networks = %q, want dropped", got)
	}
	// Routed straight to the container from outside, unpublished: dropped
	// whatever FORWARD's policy.
	nsRun(t, tp.ext, "ip", "route", "add", "10.99.0.0/24", "via", "192.0.2.1")
	if got := dial(t, tp.ext, "10.99.0.2:81"); got != "" {
		t.Errorf("ext → 10.99.0.2:81 routed = %q, want dropped", got)
	}
	// A port published on 127.0.0.1 has no rule at all.
	lo := Port{Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8081, ContainerIP: netip.MustParseAddr("10.99.0.2"), ContainerPort: 81, Bridge: "brA"}
	if err := fw.AddPort(ctx, lo); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ext, "10.99.0.2:81"); got != "" {
		t.Errorf("ext → 10.99.0.2:81 with a loopback publish = %q, want dropped", got)
	}
	if err := fw.RemovePort(ctx, lo); err != nil {
		t.Fatal(err)
	}
	// ... but a1's published port is reachable from b1 through a host
	// address, as from anywhere.
	if got := dial(t, tp.ns["b1"], "192.0.2.1:8080"); !strings.HasPrefix(got, "a1 ") {
		t.Errorf("b1 → 192.0.2.1:8080 = %q, want a1", got)
	}
	netB.Internal = true
	if err := fw.AddNetwork(ctx, netB); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ns["b1"], "192.0.2.2:7000"); got != "" {
		t.Errorf("internal b1 → ext = %q, want dropped", got)
	}
	if strings.Contains(nftTable(t, tp.host, table), "10.98.0.0/24 oifname") {
		t.Error("internal network still masqueraded")
	}

	// What doc.go says: a DROP policy in iptables' FORWARD wins over
	// berth's accept in its own table.
	nsRun(t, tp.host, "iptables", "-P", "FORWARD", "DROP")
	if got := dial(t, tp.ns["a1"], "192.0.2.2:7000"); got != "" {
		t.Errorf("with iptables FORWARD DROP, a1 → ext = %q; expected the drop to win", got)
	}
	nsRun(t, tp.host, "iptables", "-P", "FORWARD", "ACCEPT")

	// Close with rules left keeps the table; a new backend removes them.
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if nftTable(t, tp.host, table) == "" {
		t.Fatal("Close removed a table still in use")
	}
	fw, err = New(ctx, NFTables, Options{NetNS: tp.hostPath, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := fw.RemovePort(ctx, port); err != nil {
			t.Fatal(err)
		}
		for _, n := range []Network{netA, netB} {
			if err := fw.RemoveNetwork(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := dial(t, tp.ext, "192.0.2.1:8080"); got != "" {
		t.Errorf("after RemovePort, ext → 8080 = %q", got)
	}
	if list := nftTable(t, tp.host, table); strings.Contains(list, "comment \"net:") || strings.Contains(list, "comment \"port:") {
		t.Errorf("rules left:\n%s", list)
	}
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if list := nftTable(t, tp.host, table); list != "" {
		t.Errorf("table left after Close:\n%s", list)
	}
	if got := nftTable(t, tp.host, "other"); got != otherBefore {
		t.Errorf("the other table changed:\n%s\nwas:\n%s", got, otherBefore)
	}
	// Removing from a table that is gone is not an error.
	if err := fw.RemoveNetwork(ctx, netA); err != nil {
		t.Errorf("RemoveNetwork without a table: %v", err)
	}
	if err := fw.RemovePort(ctx, port); err != nil {
		t.Errorf("RemovePort without a table: %v", err)
	}
}

package firewall

import (
	"context"
	"net/netip"
	"os/exec"
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

package firewall

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// standard builds the suite's world in tp: bridges brA (10.99.0.0/24) and
// brB (10.98.0.0/24) with containers a1 (serving on 80 and 81), a2 and b1,
// and a server on ext:7000.
func (tp *topology) standard(t *testing.T) {
	t.Helper()
	tp.bridge(t, "brA", "10.99.0.1/24")
	tp.bridge(t, "brB", "10.98.0.1/24")
	tp.container(t, "a1", "brA", "10.99.0.2/24", "10.99.0.1")
	tp.container(t, "a2", "brA", "10.99.0.3/24", "10.99.0.1")
	tp.container(t, "b1", "brB", "10.98.0.2/24", "10.98.0.1")
	serve(t, tp.ns["a1"], "a1", 80)
	serve(t, tp.ns["a1"], "a1", 81)
	serve(t, tp.ext, "ext", 7000)
}

// backendCase is one backend as the conformance suite drives it.
type backendCase struct {
	open     func() (Backend, error) // a backend on tp's host namespace
	rules    func() string           // its rules as text
	added    []string                // in rules once the networks and port are added
	dnat     string                  // the port's DNAT rule, counted for idempotence
	masqB    string                  // brB's masquerade, gone once brB is internal
	afterAdd func()                  // backend-specific checks with everything added
}

// conformance is what every backend must do, checked with traffic in the
// standard topology: outbound masquerade, DNAT from outside and from the
// host, isolation between bridges (but not of published ports), no routed
// access to unpublished ports, no rules for a loopback publish, --internal,
// idempotent adds and removes, Close that keeps rules in use and removes
// what is left once they are gone.
func conformance(t *testing.T, tp *topology, c backendCase) {
	ctx := context.Background()
	fw, err := c.open()
	if err != nil {
		t.Fatal(err)
	}
	netA := Network{Bridge: "brA", Subnet: netip.MustParsePrefix("10.99.0.0/24"), ICC: true, Masquerade: true}
	netB := Network{Bridge: "brB", Subnet: netip.MustParsePrefix("10.98.0.0/24"), ICC: true, Masquerade: true}
	port := Port{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.99.0.2"), ContainerPort: 80, Bridge: "brA"}
	for i := 0; i < 2; i++ { // idempotent
		for _, n := range []Network{netA, netB} {
			if err := fw.AddNetwork(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.AddPort(ctx, port); err != nil {
			t.Fatal(err)
		}
	}
	rules := c.rules()
	for _, want := range c.added {
		if !strings.Contains(rules, want) {
			t.Errorf("missing %q in\n%s", want, rules)
		}
	}
	if n := strings.Count(rules, c.dnat); n != 1 {
		t.Errorf("DNAT rule %d times", n)
	}
	if c.afterAdd != nil {
		c.afterAdd()
	}

	// Outbound, masqueraded to the host's address.
	if got := dial(t, tp.ns["a1"], "192.0.2.2:7000"); got != "ext 192.0.2.1" {
		t.Errorf("a1 → ext = %q, want masqueraded %q", got, "ext 192.0.2.1")
	}
	// The published port from outside (PREROUTING DNAT) and from the host
	// to its own address (OUTPUT DNAT).
	if got := dial(t, tp.ext, "192.0.2.1:8080"); got != "a1 192.0.2.2" {
		t.Errorf("ext → 192.0.2.1:8080 = %q", got)
	}
	if got := dial(t, tp.host, "192.0.2.1:8080"); !strings.HasPrefix(got, "a1 ") {
		t.Errorf("host → 192.0.2.1:8080 = %q", got)
	}
	// Isolation: brB cannot reach brA's container directly...
	if got := dial(t, tp.ns["b1"], "10.99.0.2:80"); got != "" {
		t.Errorf("b1 → a1 across networks = %q, want dropped", got)
	}
	// ... but reaches its published port through a host address, as
	// anyone can, and reaches outside.
	if got := dial(t, tp.ns["b1"], "192.0.2.1:8080"); !strings.HasPrefix(got, "a1 ") {
		t.Errorf("b1 → 192.0.2.1:8080 = %q, want a1", got)
	}
	if got := dial(t, tp.ns["b1"], "192.0.2.2:7000"); got != "ext 192.0.2.1" {
		t.Errorf("b1 → ext = %q", got)
	}
	// Routed straight to the container from outside, an unpublished port
	// is dropped whatever FORWARD's policy.
	nsRun(t, tp.ext, "ip", "route", "add", "10.99.0.0/24", "via", "192.0.2.1")
	if got := dial(t, tp.ext, "10.99.0.2:81"); got != "" {
		t.Errorf("ext → 10.99.0.2:81 routed = %q, want dropped", got)
	}
	// A port published on 127.0.0.1 has no rule that lets outside in.
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
	// ICC: a2 reaches a1 on their bridge; not once brA is re-added with
	// ICC off; again once it is back on.
	if got := dial(t, tp.ns["a2"], "10.99.0.2:80"); got != "a1 10.99.0.3" {
		t.Errorf("a2 → a1 = %q", got)
	}
	// (With bridged traffic kept off the IPv4 hooks, as on a host without
	// it turned on: AddNetwork with ICC off must turn it on.)
	nsRun(t, tp.host, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0")
	netA.ICC = false
	if err := fw.AddNetwork(ctx, netA); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ns["a2"], "10.99.0.2:80"); got != "" {
		t.Errorf("a2 → a1 with ICC off = %q, want dropped", got)
	}
	netA.ICC = true
	if err := fw.AddNetwork(ctx, netA); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ns["a2"], "10.99.0.2:80"); got != "a1 10.99.0.3" {
		t.Errorf("a2 → a1 with ICC back on = %q", got)
	}
	// --internal: brB re-added as internal cannot reach out any more, and
	// is not masqueraded.
	netB.Internal = true
	if err := fw.AddNetwork(ctx, netB); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ns["b1"], "192.0.2.2:7000"); got != "" {
		t.Errorf("internal b1 → ext = %q, want dropped", got)
	}
	if strings.Contains(c.rules(), c.masqB) {
		t.Error("internal network still masqueraded")
	}

	// Close with rules in use keeps them working.
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, tp.ext, "192.0.2.1:8080"); got != "a1 192.0.2.2" {
		t.Errorf("after a Close with rules left, ext → 8080 = %q", got)
	}

	// A new backend (berthd restarted) removes them, twice without harm,
	// and its Close removes the rest.
	fw, err = c.open()
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
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

package firewall

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/network/netns"
	"github.com/berth-engine/berth/internal/testutil"
)

// topology is a small world of network namespaces: "host" runs the
// firewall, has bridges with one or two "containers" each (veth pairs) and an
// "ext" namespace behind an outside link 192.0.2.0/24.
type topology struct {
	host, hostPath string
	ext            string
	ns             map[string]string // container name → netns name
}

func newTopology(t *testing.T) *topology {
	t.Helper()
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("no iptables binary")
	}
	tp := &topology{ns: map[string]string{}}
	tp.host, tp.hostPath = testNetNS(t)
	tp.ext, _ = testNetNS(t)
	nsRun(t, tp.host, "ip", "link", "set", "lo", "up")
	nsRun(t, tp.host, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	nsRun(t, tp.host, "ip", "link", "add", "out0", "type", "veth", "peer", "name", "eth0", "netns", tp.ext)
	nsRun(t, tp.host, "ip", "addr", "add", "192.0.2.1/24", "dev", "out0")
	nsRun(t, tp.host, "ip", "link", "set", "out0", "up")
	nsRun(t, tp.ext, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
	nsRun(t, tp.ext, "ip", "link", "set", "eth0", "up")
	nsRun(t, tp.ext, "ip", "link", "set", "lo", "up")
	return tp
}

// bridge makes bridge br with gateway gw (CIDR) in the host namespace.
func (tp *topology) bridge(t *testing.T, br, gw string) {
	t.Helper()
	nsRun(t, tp.host, "ip", "link", "add", br, "type", "bridge")
	nsRun(t, tp.host, "ip", "addr", "add", gw, "dev", br)
	nsRun(t, tp.host, "ip", "link", "set", br, "up")
}

// container makes a namespace attached to br with address addr (CIDR) and
// a default route via gw.
func (tp *topology) container(t *testing.T, name, br, addr, gw string) {
	t.Helper()
	ns, _ := testNetNS(t)
	tp.ns[name] = ns
	veth := "v" + name
	nsRun(t, tp.host, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
	nsRun(t, tp.host, "ip", "link", "set", veth, "master", br, "up")
	nsRun(t, ns, "ip", "addr", "add", addr, "dev", "eth0")
	nsRun(t, ns, "ip", "link", "set", "eth0", "up")
	nsRun(t, ns, "ip", "link", "set", "lo", "up")
	nsRun(t, ns, "ip", "route", "add", "default", "via", gw)
}

// serve listens on TCP port in namespace ns and answers each connection with
// "NAME <remote ip>".
func serve(t *testing.T, ns, name string, port int) {
	t.Helper()
	var l net.Listener
	err := netns.Do("/var/run/netns/"+ns, func() error {
		var err error
		l, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ap := netip.MustParseAddrPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "%s %s", name, ap.Addr())
			c.Close()
		}
	}()
}

// dial connects from namespace ns to addr and returns what the server said,
// or "" when it could not connect within half a second (a dropped SYN).
func dial(t *testing.T, ns, addr string) string {
	t.Helper()
	var c net.Conn
	err := netns.Do("/var/run/netns/"+ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 500*time.Millisecond)
		return err
	})
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// ruleset is the namespace's iptables-save without comments and counters,
// sorted, for comparing before and after.
func ruleset(t *testing.T, ns string) []string { return rulesetOf(t, ns, "iptables") }

// rulesetOf is ruleset through bin's -save.
func rulesetOf(t *testing.T, ns, bin string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(nsRun(t, ns, bin+"-save"), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, counters.ReplaceAllString(l, ""))
	}
	sort.Strings(out)
	return out
}

func hasLine(lines []string, substr string) bool {
	for _, l := range lines {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func TestIPTables(t *testing.T) { testIPTables(t, "iptables") }

// The same with iptables-legacy, which hosts that chose it run.
func TestIPTablesLegacy(t *testing.T) {
	if _, err := exec.LookPath("iptables-legacy"); err != nil {
		t.Skip("no iptables-legacy")
	}
	testIPTables(t, "iptables-legacy")
}

func testIPTables(t *testing.T, bin string) {
	tp := newTopology(t)
	tp.standard(t)

	// Another engine was here first: FORWARD policy DROP, a chain and
	// rules of its own. berth must work with them and leave them as found.
	nsRun(t, tp.host, bin, "-P", "FORWARD", "DROP")
	nsRun(t, tp.host, bin, "-N", "DOCKER-USER")
	nsRun(t, tp.host, bin, "-A", "DOCKER-USER", "-j", "RETURN")
	nsRun(t, tp.host, bin, "-A", "FORWARD", "-j", "DOCKER-USER")
	nsRun(t, tp.host, bin, "-t", "nat", "-A", "POSTROUTING", "-s", "10.55.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE")
	before := rulesetOf(t, tp.host, bin)
	if got := dial(t, tp.ns["a1"], "192.0.2.2:7000"); got != "" {
		t.Fatalf("before berth's rules, FORWARD DROP let a1 out: %q", got)
	}

	conformance(t, tp, backendCase{
		open: func() (Backend, error) {
			return New(context.Background(), IPTables, Options{NetNS: tp.hostPath, IPTables: bin})
		},
		rules: func() string { return strings.Join(rulesetOf(t, tp.host, bin), "\n") },
		added: []string{
			"-A FORWARD -j BERTH-FORWARD",
			"-A BERTH-FORWARD -j BERTH-USER",
			"-A BERTH-FORWARD -j BERTH-ISOLATION-STAGE-1",
			"-A BERTH-ISOLATION-STAGE-1 -i brA ! -o brA -j BERTH-ISOLATION-STAGE-2",
			"-A BERTH-ISOLATION-STAGE-2 -o brB -j DROP",
			"-A POSTROUTING -j BERTH-POSTROUTING",
			"-A BERTH-POSTROUTING -s 10.99.0.0/24 ! -o brA -j MASQUERADE",
			"-A PREROUTING -m addrtype --dst-type LOCAL -j BERTH",
			"-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j BERTH",
			"--dport 8080 -j DNAT --to-destination 10.99.0.2:80",
		},
		dnat:  "--to-destination 10.99.0.2:80",
		masqB: "-s 10.98.0.0/24 ! -o brB -j MASQUERADE",
		afterAdd: func() {
			// FORWARD's jump comes first, before the other engine's.
			fwd := nsRun(t, tp.host, bin, "-S", "FORWARD")
			if !strings.HasPrefix(strings.SplitN(fwd, "\n", 3)[1], "-A FORWARD -j BERTH-FORWARD") {
				t.Errorf("BERTH-FORWARD is not FORWARD's first rule:\n%s", fwd)
			}
		},
	})

	after := rulesetOf(t, tp.host, bin)
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("ruleset changed:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

// Two host ports publishing one container port share the filter accept and
// the hairpin masquerade; removing one keeps them for the other.
func TestIPTablesSharedPortRules(t *testing.T) {
	tp := newTopology(t)
	ctx := context.Background()
	fw, err := New(ctx, IPTables, Options{NetNS: tp.hostPath})
	if err != nil {
		t.Fatal(err)
	}
	p1 := Port{Proto: "udp", HostPort: 5301, ContainerIP: netip.MustParseAddr("10.97.0.2"), ContainerPort: 53, Bridge: "brC"}
	p2 := p1
	p2.HostPort, p2.HostIP = 5302, netip.MustParseAddr("192.0.2.1")
	for _, p := range []Port{p1, p2} {
		if err := fw.AddPort(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.RemovePort(ctx, p1); err != nil {
		t.Fatal(err)
	}
	rules := ruleset(t, tp.host)
	for _, want := range []string{
		"-A BERTH -d 10.97.0.2/32 ! -i brC -o brC -p udp -m udp --dport 53 -j ACCEPT",
		"-A BERTH-POSTROUTING -s 10.97.0.2/32 -d 10.97.0.2/32 -p udp -m udp --dport 53 -j MASQUERADE",
		"-A BERTH -d 192.0.2.1/32 ! -i brC -p udp -m udp --dport 5302 -j DNAT --to-destination 10.97.0.2:53",
	} {
		if !hasLine(rules, want) {
			t.Errorf("missing %q in\n%s", want, strings.Join(rules, "\n"))
		}
	}
	if hasLine(rules, "--dport 5301") {
		t.Error("p1's DNAT is still there")
	}
	// A hairpin port's DNAT applies to traffic from its bridge too.
	p3 := p1
	p3.HostPort, p3.Hairpin = 5303, true
	if err := fw.AddPort(ctx, p3); err != nil {
		t.Fatal(err)
	}
	if !hasLine(ruleset(t, tp.host), "-A BERTH -p udp -m udp --dport 5303 -j DNAT --to-destination 10.97.0.2:53") {
		t.Errorf("hairpin DNAT:\n%s", strings.Join(ruleset(t, tp.host), "\n"))
	}
	if err := fw.RemovePort(ctx, p3); err != nil {
		t.Fatal(err)
	}
	// berth's filter chain deleted by hand: the next AddPort makes it
	// again and succeeds.
	nsRun(t, tp.host, "iptables", "-F", "BERTH")
	nsRun(t, tp.host, "iptables", "-X", "BERTH")
	p4 := p1
	p4.HostPort, p4.ContainerPort = 5304, 54
	if err := fw.AddPort(ctx, p4); err != nil {
		t.Fatalf("AddPort after BERTH was deleted: %v", err)
	}
	if !hasLine(ruleset(t, tp.host), "-A BERTH -d 10.97.0.2/32 ! -i brC -o brC -p udp -m udp --dport 54 -j ACCEPT") {
		t.Errorf("accept rule not made again:\n%s", strings.Join(ruleset(t, tp.host), "\n"))
	}
	if err := fw.RemovePort(ctx, p4); err != nil {
		t.Fatal(err)
	}
	if err := fw.RemovePort(ctx, p2); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if rules := ruleset(t, tp.host); hasLine(rules, "BERTH") {
		t.Errorf("berth's chains left after Close:\n%s", strings.Join(rules, "\n"))
	}
}

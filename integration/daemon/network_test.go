package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
)

// Networking with the docker CLI against berthd: the default bridge, user
// networks, none/host/container: modes, connect/disconnect, restarts, bad
// input; and after each test the host is checked for leftovers.

// hostNet is what the leftover check compares: links, routes, the netns
// files and mounts under the exec root, and the firewall's rules.
type hostNet struct {
	links, routes, mounts, netns, iptables, nft []string
}

var (
	linkIndex = regexp.MustCompile(`^\d+: `)
	// counters in iptables-save output change with traffic
	counters = regexp.MustCompile(`\[\d+:\d+\]`)
)

func lines(name string, args ...string) []string {
	out, _ := exec.Command(name, args...).Output()
	var ls []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			ls = append(ls, l)
		}
	}
	slices.Sort(ls)
	return ls
}

// snapshotHostNet reads the host's networking state that berth may touch.
func snapshotHostNet(t *testing.T, d *daemon) hostNet {
	t.Helper()
	var h hostNet
	for _, l := range lines("ip", "-o", "link") {
		// names only: flags and counters change on their own
		f := strings.Fields(linkIndex.ReplaceAllString(l, ""))
		if len(f) > 0 {
			h.links = append(h.links, strings.TrimSuffix(strings.Split(f[0], "@")[0], ":"))
		}
	}
	slices.Sort(h.links)
	h.routes = lines("ip", "route")
	for _, l := range lines("cat", "/proc/self/mountinfo") {
		if strings.Contains(l, d.ExecRoot) && strings.Contains(l, "netns") {
			h.mounts = append(h.mounts, strings.Fields(l)[4])
		}
	}
	if ents, err := os.ReadDir(filepath.Join(d.ExecRoot, "netns")); err == nil {
		for _, e := range ents {
			h.netns = append(h.netns, e.Name())
		}
	}
	// berth's own rules and chains only: the tables iptables creates on
	// first use (and the host's other engines) are not berth's to remove.
	ours := func(l string) bool {
		return strings.Contains(strings.ToLower(l), "berth") || strings.Contains(l, d.Bridge) || strings.Contains(l, "br-")
	}
	for _, l := range lines("iptables-save") {
		if !strings.HasPrefix(l, "#") && ours(l) {
			h.iptables = append(h.iptables, counters.ReplaceAllString(l, ""))
		}
	}
	for _, l := range lines("nft", "list", "ruleset") {
		if ours(l) {
			h.nft = append(h.nft, l)
		}
	}
	return h
}

// checkHostClean fails the test when the host's networking differs from
// before (what berth added and did not remove).
func checkHostClean(t *testing.T, before, after hostNet) {
	t.Helper()
	diff := func(what string, a, b []string) {
		var added, removed []string
		for _, x := range b {
			if !slices.Contains(a, x) {
				added = append(added, x)
			}
		}
		for _, x := range a {
			if !slices.Contains(b, x) {
				removed = append(removed, x)
			}
		}
		if len(added) > 0 || len(removed) > 0 {
			t.Errorf("host %s changed: left %q, gone %q", what, added, removed)
		}
	}
	diff("links", before.links, after.links)
	diff("routes", before.routes, after.routes)
	diff("netns mounts", before.mounts, after.mounts)
	diff("netns files", before.netns, after.netns)
	diff("iptables rules", before.iptables, after.iptables)
	diff("nftables ruleset", before.nft, after.nft)
}

// networkDaemon is containerDaemon with the firewall on, whose host
// leftovers are checked when the test ends (after the daemon stopped).
func networkDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	d := containerDaemonNoStart(t)
	before := snapshotHostNet(t, d)
	// Cleanups run last first: this check after the daemon's stop below.
	t.Cleanup(func() {
		if t.Failed() && d.stderr != nil {
			t.Logf("berthd log:\n%s", d.stderr)
		}
		checkHostClean(t, before, snapshotHostNet(t, d))
	})
	stopNetworkDaemon(t, d)
	d.startNetworking(extra...)
	return d
}

func (d *daemon) startNetworking(extra ...string) {
	d.start(append([]string{"--iptables=true"}, extra...)...)
}

// stopNetworkDaemon registers the cleanup: containers removed, unused
// networks pruned, berthd stopped (restarted first if a test left it down).
func stopNetworkDaemon(t *testing.T, d *daemon) {
	t.Cleanup(func() {
		if d.cmd == nil {
			return
		}
		select {
		case <-d.exited:
			d.startNetworking()
		default:
		}
		out, _ := d.docker("ps", "-aq")
		for _, id := range strings.Fields(out) {
			if o, err := d.docker("rm", "-f", id); err != nil {
				t.Errorf("cleanup rm -f %s: %v\n%s", id, err, o)
			}
		}
		if o, err := d.docker("network", "prune", "-f"); err != nil {
			t.Errorf("cleanup network prune: %v\n%s", err, o)
		}
		if err := d.stop(); err != nil {
			t.Errorf("berthd stop: %v", err)
		}
	})
}

// inspectJSON decodes docker inspect's JSON of one object.
func (d *daemon) inspectJSON(kind, ref string, v any) {
	d.t.Helper()
	out := d.mustDocker(kind, "inspect", ref)
	var arr []json.RawMessage
	if err := json.Unmarshal([]byte(out), &arr); err != nil || len(arr) != 1 {
		d.t.Fatalf("%s inspect %s: %v\n%s", kind, ref, err, out)
	}
	if err := json.Unmarshal(arr[0], v); err != nil {
		d.t.Fatal(err)
	}
}

func (d *daemon) ipOf(name, network string) string {
	d.t.Helper()
	return d.mustDocker("inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", network), name)
}

// dockerFails runs a docker command that must fail with want in its output.
func (d *daemon) dockerFails(want string, args ...string) {
	d.t.Helper()
	out, err := d.docker(args...)
	if err == nil || !strings.Contains(out, want) {
		d.t.Fatalf("docker %s: err %v, want failure with %q\n%s", strings.Join(args, " "), err, want, out)
	}
}

func TestNetworkDefaultBridge(t *testing.T) {
	d := networkDaemon(t)
	out := d.mustDocker("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
	for _, want := range []string{"bridge bridge local", "host host local", "none null local"} {
		if !strings.Contains(out, want) {
			t.Fatalf("network ls lacks %q:\n%s", want, out)
		}
	}
	d.mustDocker("run", "-d", "--name", "na", "busybox", "sleep", "300")
	d.mustDocker("run", "-d", "--name", "nb", "--hostname", "bee", "--add-host", "db:10.1.2.3", "--add-host", "gw:host-gateway", "busybox", "sleep", "300")
	ipA, ipB := d.ipOf("na", "bridge"), d.ipOf("nb", "bridge")
	gw := strings.Split(d.Bip, "/")[0]
	prefix := gw[:strings.LastIndex(gw, ".")+1]
	if !strings.HasPrefix(ipA, prefix) || !strings.HasPrefix(ipB, prefix) || ipA == ipB {
		t.Fatalf("addresses %q %q not distinct in %s", ipA, ipB, d.Bip)
	}
	// b reaches a by IP, and the reverse
	d.mustDocker("exec", "nb", "ping", "-c1", "-W1", ipA)
	d.mustDocker("exec", "na", "ping", "-c1", "-W1", ipB)
	// eth0 with the address, the default route via the bridge's address
	if addr := d.mustDocker("exec", "na", "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(addr, ipA+"/24") {
		t.Fatalf("eth0: %s", addr)
	}
	if r := d.mustDocker("exec", "na", "ip", "route"); !strings.Contains(r, "default via "+gw) {
		t.Fatalf("routes: %s", r)
	}
	hosts := d.mustDocker("exec", "nb", "cat", "/etc/hosts")
	for _, want := range []string{"127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "10.1.2.3\tdb", gw + "\tgw", ipB + "\tbee"} {
		if !strings.Contains(hosts, want) {
			t.Fatalf("/etc/hosts lacks %q:\n%s", want, hosts)
		}
	}
	if h := d.mustDocker("exec", "nb", "cat", "/etc/hostname"); h != "bee" {
		t.Fatalf("/etc/hostname %q", h)
	}
	if rc := d.mustDocker("exec", "nb", "cat", "/etc/resolv.conf"); !strings.Contains(rc, "nameserver ") || strings.Contains(rc, "127.0.0.11") {
		t.Fatalf("resolv.conf on the default bridge:\n%s", rc)
	}
	var ci struct {
		HostsPath, ResolvConfPath, HostnamePath string
		HostConfig                              struct{ NetworkMode string }
		NetworkSettings                         struct {
			SandboxID, SandboxKey string
			Networks              map[string]struct {
				NetworkID, EndpointID, Gateway, IPAddress, MacAddress string
				IPPrefixLen                                           int
			}
		}
	}
	d.inspectJSON("container", "na", &ci)
	ep := ci.NetworkSettings.Networks["bridge"]
	if ci.HostConfig.NetworkMode != "bridge" || ci.HostsPath == "" || ci.ResolvConfPath == "" || ci.HostnamePath == "" ||
		ci.NetworkSettings.SandboxKey == "" || ep.EndpointID == "" || ep.Gateway != gw || ep.IPPrefixLen != 24 || ep.NetworkID == "" {
		t.Fatalf("inspect: %+v", ci)
	}
	if want := macOf(ipA); ep.MacAddress != want {
		t.Fatalf("mac %s, want %s", ep.MacAddress, want)
	}
	var ni struct {
		Containers map[string]struct{ Name, IPv4Address, MacAddress string }
	}
	d.inspectJSON("network", "bridge", &ni)
	names := []string{}
	for _, c := range ni.Containers {
		names = append(names, c.Name+" "+c.IPv4Address)
	}
	slices.Sort(names)
	if want := []string{"na " + ipA + "/24", "nb " + ipB + "/24"}; !slices.Equal(names, want) {
		t.Fatalf("network inspect containers %v, want %v", names, want)
	}
	if out := d.mustDocker("ps", "--filter", "network=bridge", "--format", "{{.Names}} {{.Networks}}"); !strings.Contains(out, "na bridge") || !strings.Contains(out, "nb bridge") {
		t.Fatalf("ps --filter network: %s", out)
	}
	// A stopped container has no address and no veth; a start gives them back.
	d.mustDocker("stop", "-t", "0", "nb")
	if ip := d.ipOf("nb", "bridge"); ip != "" && ip != "invalid IP" {
		t.Fatalf("stopped container keeps address %q", ip)
	}
	d.mustDocker("start", "nb")
	d.mustDocker("exec", "na", "ping", "-c1", "-W1", d.ipOf("nb", "bridge"))
	// run --rm on the bridge leaves nothing behind
	d.mustDocker("run", "--rm", "busybox", "true")
}

// macOf is docker's MAC for an IPv4 address: 02:42 and its four bytes.
func macOf(ip string) string {
	var a, b, c, e int
	fmt.Sscanf(ip, "%d.%d.%d.%d", &a, &b, &c, &e)
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", a, b, c, e)
}

// containerDaemonNoStart prepares what containerDaemon does (short exec
// root, shim and runtime beside berthd, busybox seeded) without starting.
func containerDaemonNoStart(t *testing.T) *daemon {
	t.Helper()
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	d := newDaemon(t)
	short, err := os.MkdirTemp("", "bx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	d.ExecRoot = short
	buildShim(t, d)
	seedBusybox(t, d)
	return d
}

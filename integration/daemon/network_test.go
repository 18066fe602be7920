package daemon

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
// Other tests (and their daemons) may run beside this one, so links,
// routes and rules count only when they name what this daemon owns: its
// default bridge, the bridges and veths of its networks (owned).
func snapshotHostNet(t *testing.T, d *daemon, owned []string) hostNet {
	t.Helper()
	var h hostNet
	ours := func(l string) bool {
		if strings.Contains(l, d.Bridge) {
			return true
		}
		return slices.ContainsFunc(owned, func(n string) bool { return strings.Contains(l, n) })
	}
	for _, l := range lines("ip", "-o", "link") {
		f := strings.Fields(linkIndex.ReplaceAllString(l, ""))
		if len(f) > 0 {
			name := strings.TrimSuffix(strings.Split(f[0], "@")[0], ":")
			if ours(name) || strings.Contains(l, "master "+d.Bridge) {
				h.links = append(h.links, name)
			}
		}
	}
	slices.Sort(h.links)
	for _, l := range lines("ip", "route") {
		if ours(l) {
			h.routes = append(h.routes, l)
		}
	}
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

// ownedNames are the host names of what d's networks made: the bridges of
// its user networks, their subnets, and the veths of their endpoints.
func ownedNames(d *daemon) []string {
	var out []string
	ids, _ := d.docker("network", "ls", "-q", "--no-trunc")
	for _, id := range strings.Fields(ids) {
		var n struct {
			ID         string `json:"Id"`
			Driver     string
			Options    map[string]string
			IPAM       struct{ Config []struct{ Subnet string } }
			Containers map[string]struct{ EndpointID string }
		}
		out2, err := d.docker("network", "inspect", id)
		var arr []json.RawMessage
		if err != nil || json.Unmarshal([]byte(out2), &arr) != nil || len(arr) != 1 || json.Unmarshal(arr[0], &n) != nil {
			continue
		}
		out = append(out, "dm-"+n.ID[:12], "dn-"+n.ID[:12]) // a macvlan/ipvlan network's dummy parent
		if n.Driver != "bridge" {
			continue
		}
		if b := n.Options["com.docker.network.bridge.name"]; b != "" {
			out = append(out, b)
		} else {
			out = append(out, "br-"+n.ID[:12])
		}
		for _, c := range n.IPAM.Config {
			out = append(out, c.Subnet)
		}
		for _, ep := range n.Containers {
			if len(ep.EndpointID) >= 7 {
				out = append(out, "veth"+ep.EndpointID[:7])
			}
		}
	}
	return out
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
	var owned []string
	before := snapshotHostNet(t, d, nil)
	// Cleanups run last first: this check after the daemon's stop below.
	t.Cleanup(func() {
		if t.Failed() && d.stderr != nil {
			t.Logf("berthd log:\n%s", d.stderr)
		}
		checkHostClean(t, before, snapshotHostNet(t, d, owned))
	})
	stopNetworkDaemon(t, d, &owned)
	d.startNetworking(extra...)
	return d
}

func (d *daemon) startNetworking(extra ...string) {
	d.start(append([]string{"--iptables=true"}, extra...)...)
}

// stopNetworkDaemon registers the cleanup: containers removed, unused
// networks pruned, berthd stopped (restarted first if a test left it down).
func stopNetworkDaemon(t *testing.T, d *daemon, owned *[]string) {
	t.Cleanup(func() {
		if d.cmd == nil {
			return
		}
		select {
		case <-d.exited:
			d.startNetworking()
		default:
		}
		*owned = ownedNames(d)
		out, _ := d.docker("ps", "-aq")
		for _, id := range strings.Fields(out) {
			// (a --rm container may be on its way out on its own)
			if o, err := d.docker("rm", "-f", id); err != nil && !strings.Contains(o, "already in progress") && !strings.Contains(o, "No such container") {
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
	// An interface's sysctl, which the runtime writes at create: the
	// endpoint is there by then (it is set up beside the create
	// otherwise), and its address is in /etc/hosts from the start.
	if out := d.mustDocker("run", "--rm", "--hostname", "sy", "--sysctl", "net.ipv4.conf.eth0.rp_filter=2", "busybox", "sh", "-c",
		"cat /proc/sys/net/ipv4/conf/eth0/rp_filter; grep -c sy /etc/hosts"); out != "2\n1" {
		t.Fatalf("interface sysctl and hosts: %q", out)
	}
	if out := d.mustDocker("run", "--rm", "--hostname", "fast", "busybox", "grep", "-c", "fast", "/etc/hosts"); out != "1" {
		t.Fatalf("a run's own address in /etc/hosts: %q", out)
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
	// API < 1.52 (the docker CLI 28) also has the default bridge's
	// endpoint at the top level, which templates still read.
	if top := d.mustDocker("inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}}", "na"); top != ipA+" "+gw {
		t.Fatalf("top-level IPAddress/Gateway: %q", top)
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
	// The shim's socket is <exec-root>/shims/<64-hex id>/shim.sock and a
	// unix socket path holds at most 107 bytes: keep the exec root short.
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

func TestNetworkUserDefined(t *testing.T) {
	d := networkDaemon(t)
	subnet := "10.77." + strings.Split(d.Bip, ".")[2] + ".0/24"
	base := strings.TrimSuffix(subnet, "0/24")
	d.mustDocker("network", "create", "--subnet", subnet, "--gateway", base+"254", "--ip-range", base+"128/25", "--label", "k=v", "appnet")
	var ni struct {
		Name, Driver string
		Internal     bool
		Labels       map[string]string
		IPAM         struct {
			Config []struct{ Subnet, Gateway, IPRange string }
		}
		Options map[string]string
	}
	d.inspectJSON("network", "appnet", &ni)
	if ni.Driver != "bridge" || len(ni.IPAM.Config) != 1 || ni.IPAM.Config[0].Subnet != subnet || ni.IPAM.Config[0].Gateway != base+"254" || ni.IPAM.Config[0].IPRange != base+"128/25" || ni.Labels["k"] != "v" {
		t.Fatalf("network inspect: %+v", ni)
	}
	d.mustDocker("run", "-d", "--name", "web", "--network", "appnet", "--ip", base+"200", "--network-alias", "www", "busybox", "sleep", "300")
	d.mustDocker("run", "-d", "--name", "cli", "--network", "appnet", "busybox", "sleep", "300")
	if ip := d.ipOf("web", "appnet"); ip != base+"200" {
		t.Fatalf("--ip: %s", ip)
	}
	ipCli := d.ipOf("cli", "appnet")
	if ipCli != base+"128" {
		t.Fatalf("first address of the ip-range: %s", ipCli)
	}
	d.mustDocker("exec", "cli", "ping", "-c1", "-W1", base+"200")
	if r := d.mustDocker("exec", "cli", "ip", "route"); !strings.Contains(r, "default via "+base+"254") {
		t.Fatalf("route via the --gateway: %s", r)
	}
	rc := d.mustDocker("exec", "cli", "cat", "/etc/resolv.conf")
	if !strings.Contains(rc, "nameserver 127.0.0.11") || !strings.Contains(rc, "options ndots:0") {
		t.Fatalf("resolv.conf on a user network:\n%s", rc)
	}
	// names and aliases through the embedded DNS
	for _, name := range []string{"web", "www"} {
		d.mustDocker("exec", "cli", "ping", "-c1", "-W1", name)
	}
	// a rename is answered at once (the old name is not checked: that
	// query would be forwarded to the host's resolver)
	d.mustDocker("rename", "web", "web2")
	d.mustDocker("exec", "cli", "ping", "-c1", "-W1", "web2")
	d.mustDocker("rename", "web2", "web")
	var ci struct {
		NetworkSettings struct {
			Networks map[string]struct {
				Aliases, DNSNames []string
				IPAMConfig        struct{ IPv4Address string }
			}
		}
	}
	d.inspectJSON("container", "web", &ci)
	ep := ci.NetworkSettings.Networks["appnet"]
	if !slices.Contains(ep.Aliases, "www") || !slices.Contains(ep.DNSNames, "web") || !slices.Contains(ep.DNSNames, "www") || ep.IPAMConfig.IPv4Address != base+"200" {
		t.Fatalf("endpoint: %+v", ep)
	}

	// bad input: docker's words, nothing changes
	netsBefore := d.mustDocker("network", "ls", "-q")
	d.dockerFails("Pool overlaps with other one on this address space", "network", "create", "--subnet", base+"0/25", "overlap")
	d.dockerFails("no matching subnet for gateway", "network", "create", "--subnet", "10.78.0.0/24", "--gateway", "10.79.0.1", "badgw")
	d.dockerFails("network with name appnet already exists", "network", "create", "appnet")
	d.dockerFails("has active endpoints", "network", "rm", "appnet")
	d.dockerFails("bridge is a pre-defined network and cannot be removed", "network", "rm", "bridge")
	d.dockerFails("network nonet not found", "network", "inspect", "nonet")
	d.dockerFails("user specified IP address is supported on user defined networks only", "create", "--ip", "10.1.1.1", "busybox")
	d.dockerFails("no configured subnet or ip-range contain the IP address 10.99.0.9", "create", "--network", "appnet", "--ip", "10.99.0.9", "busybox")
	d.mustDocker("create", "--name", "dup", "--network", "appnet", "--ip", base+"200", "busybox", "true")
	d.dockerFails("Address already in use", "start", "dup")
	if after := d.mustDocker("network", "ls", "-q"); after != netsBefore {
		t.Fatalf("networks changed by failed creates:\n%s\n%s", netsBefore, after)
	}
	d.mustDocker("rm", "dup")

	// --internal: no default route
	d.mustDocker("network", "create", "--internal", "--subnet", "10.76."+strings.Split(d.Bip, ".")[2]+".0/24", "inner")
	if r := d.mustDocker("run", "--rm", "--network", "inner", "busybox", "ip", "route"); strings.Contains(r, "default") {
		t.Fatalf("internal network gave a default route: %s", r)
	}
	d.mustDocker("rm", "-f", "web", "cli")
	d.mustDocker("network", "rm", "appnet", "inner")
	if out := d.mustDocker("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "appnet") {
		t.Fatalf("network rm: %s", out)
	}
}

func TestNetworkModes(t *testing.T) {
	d := networkDaemon(t)
	if out := d.mustDocker("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"); strings.Count(out, "\n") != 0 || !strings.Contains(out, "lo:") {
		t.Fatalf("none: %s", out)
	}
	hostLinks := lines("ip", "-o", "link")
	out := d.mustDocker("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link")
	if strings.Count(out, "\n")+1 != len(hostLinks) || !strings.Contains(out, "eth0") {
		t.Fatalf("host: %d links, the host has %d\n%s", strings.Count(out, "\n")+1, len(hostLinks), out)
	}
	d.mustDocker("run", "-d", "--name", "owner", "--hostname", "ownerhost", "busybox", "sleep", "300")
	ip := d.ipOf("owner", "bridge")
	if out := d.mustDocker("run", "--rm", "--network", "container:owner", "busybox", "ip", "-o", "-4", "addr"); !strings.Contains(out, ip+"/") {
		t.Fatalf("container:owner does not share the address %s: %s", ip, out)
	}
	// Its hostname and /etc/hosts come along, as with dockerd.
	if out := d.mustDocker("run", "--rm", "--network", "container:owner", "busybox", "sh", "-c", "hostname; grep ownerhost /etc/hosts"); out != "ownerhost\n"+ip+"\townerhost" {
		t.Errorf("container:owner's hostname and hosts: %q", out)
	}
}

func TestNetworkConnectDisconnect(t *testing.T) {
	d := networkDaemon(t)
	third := strings.Split(d.Bip, ".")[2]
	d.mustDocker("network", "create", "--subnet", "10.75."+third+".0/24", "side")
	d.mustDocker("run", "-d", "--name", "roamer", "busybox", "sleep", "300")
	d.mustDocker("run", "-d", "--name", "peer", "--network", "side", "busybox", "sleep", "300")
	d.mustDocker("network", "connect", "--ip", "10.75."+third+".50", "--alias", "rover", "side", "roamer")
	if out := d.mustDocker("exec", "roamer", "ip", "-o", "-4", "addr"); !strings.Contains(out, "eth1") || !strings.Contains(out, "10.75."+third+".50/24") {
		t.Fatalf("after connect: %s", out)
	}
	d.mustDocker("exec", "peer", "ping", "-c1", "-W1", "rover")
	d.mustDocker("exec", "peer", "ping", "-c1", "-W1", "roamer")
	// The new address joins the container's /etc/hosts, as with dockerd.
	short := d.mustDocker("inspect", "-f", "{{.Config.Hostname}}", "roamer")
	if hosts := d.mustDocker("exec", "roamer", "cat", "/etc/hosts"); !slices.Contains(strings.Split(hosts, "\n"), "10.75."+third+".50\t"+short) {
		t.Errorf("/etc/hosts after a live connect lacks the new address:\n%s", hosts)
	}
	d.dockerFails("already exists in network side", "network", "connect", "side", "roamer")
	d.mustDocker("network", "disconnect", "side", "roamer")
	if out := d.mustDocker("exec", "roamer", "ip", "-o", "-4", "addr"); strings.Contains(out, "eth1") {
		t.Fatalf("after disconnect: %s", out)
	}
	d.dockerFails("is not connected to network side", "network", "disconnect", "side", "roamer")
	// a stopped container: takes effect at start
	d.mustDocker("create", "--name", "later", "busybox", "sleep", "300")
	d.mustDocker("network", "connect", "side", "later")
	d.mustDocker("start", "later")
	if out := d.mustDocker("exec", "later", "ip", "-o", "-4", "addr"); !strings.Contains(out, "eth1") {
		t.Fatalf("connected while created: %s", out)
	}
	if out := d.mustDocker("inspect", "-f", "{{len .NetworkSettings.Networks}}", "later"); out != "2" {
		t.Fatalf("networks of later: %s", out)
	}
}

// TestNetworkRestart: berthd stops (SIGTERM, live restore) and starts
// again; the running containers keep their addresses and reach each other,
// the network and its allocations survive, and a new container does not
// get an address in use.
func TestNetworkRestart(t *testing.T) {
	d := networkDaemon(t)
	third := strings.Split(d.Bip, ".")[2]
	d.mustDocker("network", "create", "--subnet", "10.74."+third+".0/24", "keep")
	d.mustDocker("run", "-d", "--name", "s1", "--network", "keep", "busybox", "sleep", "300")
	d.mustDocker("run", "-d", "--name", "s2", "busybox", "sleep", "300")
	ip1, ip2 := d.ipOf("s1", "keep"), d.ipOf("s2", "bridge")
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	d.startNetworking()
	if got := d.ipOf("s1", "keep"); got != ip1 {
		t.Fatalf("s1's address after restart %s, was %s", got, ip1)
	}
	d.mustDocker("run", "-d", "--name", "s3", "--network", "keep", "busybox", "sleep", "300")
	if ip3 := d.ipOf("s3", "keep"); ip3 == ip1 {
		t.Fatalf("s3 got s1's address %s", ip3)
	}
	d.mustDocker("exec", "s3", "ping", "-c1", "-W1", ip1)
	d.mustDocker("exec", "s3", "ping", "-c1", "-W1", "s1")
	d.mustDocker("run", "--rm", "busybox", "ping", "-c1", "-W1", ip2)
}

// TestNetworkBerthCLI drives the same through the berth CLI: network
// create/ls/inspect/connect/disconnect/rm/prune, run's networking flags,
// berth port.
func TestNetworkBerthCLI(t *testing.T) {
	d := networkDaemon(t)
	bin := filepath.Join(t.TempDir(), "berth")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/berth-engine/berth/cmd/berth").CombinedOutput(); err != nil {
		t.Fatalf("go build berth: %v\n%s", err, out)
	}
	b := &berthCLI{t: t, bin: bin, d: d}
	third := strings.Split(d.Bip, ".")[2]
	sub := "10.73." + third + "."
	id := b.must("network", "create", "--subnet", sub+"0/24", "--label", "team=x", "bnet")
	if len(id) != 64 {
		t.Fatalf("network create printed %q", id)
	}
	if out := b.must("network", "ls", "--filter", "label=team=x", "--format", "{{.Name}} {{.Driver}}"); out != "bnet bridge" {
		t.Fatalf("network ls: %q", out)
	}
	if out := b.must("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "bnet"); out != sub+"0/24" {
		t.Fatalf("network inspect: %q", out)
	}
	b.must("run", "-d", "--name", "bweb", "--network", "bnet", "--ip", sub+"9", "--network-alias", "site", "--hostname", "webhost", "busybox", "sleep", "300")
	b.must("run", "-d", "--name", "bdef", "--dns", "10.9.9.9", "--dns-search", "example.test", "--dns-option", "ndots:2",
		"--add-host", "db.local:10.3.3.3", "-p", "127.0.0.1::8080", "--mac-address", "02:aa:bb:cc:dd:ee", "busybox", "sleep", "300")
	if ip := d.ipOf("bweb", "bnet"); ip != sub+"9" {
		t.Fatalf("--ip through berth: %s", ip)
	}
	rc := b.must("exec", "bdef", "cat", "/etc/resolv.conf")
	for _, want := range []string{"nameserver 10.9.9.9", "search example.test", "options ndots:2"} {
		if !strings.Contains(rc, want) {
			t.Fatalf("resolv.conf lacks %q:\n%s", want, rc)
		}
	}
	if h := b.must("exec", "bdef", "cat", "/etc/hosts"); !strings.Contains(h, "10.3.3.3\tdb.local") {
		t.Fatalf("--add-host: %s", h)
	}
	if m := b.must("exec", "bdef", "cat", "/sys/class/net/eth0/address"); m != "02:aa:bb:cc:dd:ee" {
		t.Fatalf("--mac-address: %s", m)
	}
	if h := b.must("exec", "bweb", "hostname"); h != "webhost" {
		t.Fatalf("--hostname: %s", h)
	}
	port := b.must("port", "bdef")
	if !strings.HasPrefix(port, "8080/tcp -> 127.0.0.1:") {
		t.Fatalf("berth port: %q", port)
	}
	if one := b.must("port", "bdef", "8080"); "8080/tcp -> "+one != port {
		t.Fatalf("berth port bdef 8080: %q vs %q", one, port)
	}
	if dp := d.mustDocker("port", "bdef"); dp != port {
		t.Fatalf("docker port %q, berth port %q", dp, port)
	}
	b.must("network", "connect", "--alias", "other", "bnet", "bdef")
	b.must("exec", "bdef", "ping", "-c1", "-W1", "site")
	b.must("exec", "bweb", "ping", "-c1", "-W1", "other")
	b.must("network", "disconnect", "bnet", "bdef")
	if _, errOut, code := b.run("", "network", "rm", "bnet"); code != 1 || !strings.Contains(errOut, "has active endpoints") {
		t.Fatalf("network rm of a network in use: exit %d %q", code, errOut)
	}
	b.must("rm", "-f", "bweb", "bdef")
	if out := b.must("network", "prune", "-f"); !strings.Contains(out, "bnet") {
		t.Fatalf("network prune: %q", out)
	}
}

// TestNetworkMacvlan: a macvlan network (bridge mode) on a parent link
// made for the test; two containers on it reach each other. ipvlan
// works or is refused with a clear error, as /info says.
func TestNetworkMacvlan(t *testing.T) {
	d := networkDaemon(t)
	var r [3]byte
	rand.Read(r[:])
	// The parent: one end of a veth pair (this kernel has no dummy
	// driver); the pair goes with it.
	parent := fmt.Sprintf("mv%x", r[:])
	if out, err := exec.Command("ip", "link", "add", parent, "type", "veth", "peer", "name", fmt.Sprintf("mw%x", r[:])).CombinedOutput(); err != nil {
		t.Fatalf("parent link: %v %s", err, out)
	}
	defer exec.Command("ip", "link", "del", parent).Run()
	// both ends up: a veth has a carrier (and its macvlans a link) only then
	for _, l := range []string{parent, fmt.Sprintf("mw%x", r[:])} {
		if out, err := exec.Command("ip", "link", "set", l, "up").CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	third := strings.Split(d.Bip, ".")[2]
	sub := "10.72." + third + "."
	d.mustDocker("network", "create", "-d", "macvlan", "--subnet", sub+"0/24", "-o", "parent="+parent, "mvnet")
	d.mustDocker("run", "-d", "--name", "mv1", "--network", "mvnet", "busybox", "sleep", "300")
	d.mustDocker("run", "-d", "--name", "mv2", "--network", "mvnet", "--ip", sub+"77", "busybox", "sleep", "300")
	// (busybox's ip has no -d: the host's, in the container's namespace)
	pid := d.mustDocker("inspect", "-f", "{{.State.Pid}}", "mv1")
	if out, err := exec.Command("nsenter", "--net=/proc/"+pid+"/ns/net", "ip", "-o", "-d", "link", "show", "eth0").CombinedOutput(); err != nil || !strings.Contains(string(out), "macvlan mode bridge") {
		t.Fatalf("eth0 is no bridge-mode macvlan: %v %s", err, out)
	}
	d.mustDocker("exec", "mv1", "ping", "-c1", "-W1", sub+"77")
	d.mustDocker("exec", "mv1", "ping", "-c1", "-W1", "mv2")
	d.dockerFails("parent interface was not found on the host", "network", "create", "-d", "macvlan", "--subnet", "10.71."+third+".0/24", "-o", "parent=nosuch0", "mvbad")
	d.mustDocker("rm", "-f", "mv1", "mv2")
	d.mustDocker("network", "rm", "mvnet")

	// Without a parent, as dockerd: a dummy link of the network's own.
	id := d.mustDocker("network", "create", "-d", "macvlan", "--subnet", "10.68."+third+".0/24", "mvlocal")
	if out, err := exec.Command("ip", "-o", "link", "show", "dm-"+id[:12]).CombinedOutput(); err != nil {
		t.Fatalf("no dummy parent: %v %s", err, out)
	}
	if out := d.mustDocker("run", "--rm", "--network", "mvlocal", "busybox", "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(out, "10.68."+third+".2/24") {
		t.Fatalf("macvlan on the dummy parent: %s", out)
	}
	d.mustDocker("network", "rm", "mvlocal")
	if err := exec.Command("ip", "link", "show", "dm-"+id[:12]).Run(); err == nil {
		t.Fatal("the dummy parent outlived its network")
	}

	plugins := d.mustDocker("info", "-f", "{{.Plugins.Network}}")
	out, err := d.docker("network", "create", "-d", "ipvlan", "--subnet", "10.70."+third+".0/24", "-o", "parent="+parent, "ipv")
	if strings.Contains(plugins, "ipvlan") {
		if err != nil {
			t.Fatalf("info lists ipvlan but create failed: %s", out)
		}
		d.mustDocker("run", "--rm", "--network", "ipv", "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
		d.mustDocker("network", "rm", "ipv")
	} else if err == nil || !strings.Contains(out, "the ipvlan driver is not available") {
		t.Fatalf("ipvlan without kernel support: %v %s", err, out)
	}
}

// TestNetworkEventsPruneLinks: network events in docker's shape, docker
// system prune removing an unused network, --link's /etc/hosts entry.
func TestNetworkEventsPruneLinks(t *testing.T) {
	d := networkDaemon(t)
	since := d.mustDocker("info", "-f", "{{.SystemTime}}")
	d.mustDocker("network", "create", "evnet")
	d.mustDocker("run", "--rm", "--network", "evnet", "busybox", "true")
	d.mustDocker("network", "rm", "evnet")
	until := d.mustDocker("info", "-f", "{{.SystemTime}}")
	out := d.mustDocker("events", "--since", since, "--until", until, "--filter", "type=network", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}")
	want := []string{"network create evnet bridge", "network connect evnet bridge", "network disconnect evnet bridge", "network destroy evnet bridge"}
	got := strings.Split(out, "\n")
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}

	d.mustDocker("network", "create", "unused")
	d.dockerFails("user specified IP address is supported only when connecting to networks with user configured subnets", "create", "--network", "unused", "--ip", "172.30.0.5", "busybox")
	d.mustDocker("system", "prune", "-f")
	if out := d.mustDocker("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "unused") {
		t.Fatalf("system prune left the network: %s", out)
	}

	d.mustDocker("run", "-d", "--name", "target", "busybox", "sleep", "300")
	ip := d.ipOf("target", "bridge")
	hosts := d.mustDocker("run", "--rm", "--link", "target:tg", "busybox", "cat", "/etc/hosts")
	if !regexp.MustCompile(regexp.QuoteMeta(ip) + `\ttg [0-9a-f]{12} target\n`).MatchString(hosts + "\n") {
		t.Fatalf("--link entry for %s missing:\n%s", ip, hosts)
	}
	d.mustDocker("run", "--rm", "--link", "target:tg", "busybox", "ping", "-c1", "-W1", "tg")
}

// TestNetworkIPv6: a user network with an IPv6 subnet gives its containers
// an IPv6 address beside the IPv4 one (--ip6 honoured), a route via the
// bridge's IPv6 gateway, and they reach each other over IPv6.
func TestNetworkIPv6(t *testing.T) {
	d := networkDaemon(t)
	third := strings.Split(d.Bip, ".")[2]
	sub6 := fmt.Sprintf("fd00:b:%s::", third)
	d.mustDocker("network", "create", "--ipv6", "--subnet", "10.69."+third+".0/24", "--subnet", sub6+"/64", "v6net")
	d.mustDocker("run", "-d", "--name", "six1", "--network", "v6net", "busybox", "sleep", "300")
	d.mustDocker("run", "-d", "--name", "six2", "--network", "v6net", "--ip6", sub6+"66", "busybox", "sleep", "300")
	ip6 := d.mustDocker("inspect", "-f", "{{(index .NetworkSettings.Networks \"v6net\").GlobalIPv6Address}}", "six2")
	if ip6 != sub6+"66" {
		t.Fatalf("--ip6: %q", ip6)
	}
	if gw := d.mustDocker("inspect", "-f", "{{(index .NetworkSettings.Networks \"v6net\").IPv6Gateway}}", "six1"); gw != sub6+"1" {
		t.Fatalf("IPv6 gateway: %q", gw)
	}
	if r := d.mustDocker("exec", "six1", "ip", "-6", "route"); !strings.Contains(r, "default via "+sub6+"1") {
		t.Fatalf("IPv6 routes: %s", r)
	}
	d.mustDocker("exec", "six1", "ping", "-6", "-c1", "-W2", sub6+"66")
	d.mustDocker("exec", "six1", "ping", "-c1", "-W1", d.ipOf("six2", "v6net"))
	if h := d.mustDocker("exec", "six2", "cat", "/etc/hosts"); !strings.Contains(h, sub6+"66\t") {
		t.Fatalf("/etc/hosts lacks the IPv6 address:\n%s", h)
	}
	var ni struct {
		Containers map[string]struct{ Name, IPv6Address string }
	}
	d.inspectJSON("network", "v6net", &ni)
	found := false
	for _, c := range ni.Containers {
		found = found || (c.Name == "six2" && c.IPv6Address == sub6+"66/64")
	}
	if !found {
		t.Fatalf("network inspect: %+v", ni.Containers)
	}
	d.dockerFails("no configured subnet or ip-range contain the IP address fd00:dead::1", "create", "--network", "v6net", "--ip6", "fd00:dead::1", "busybox")
	d.mustDocker("rm", "-f", "six1", "six2")
	d.mustDocker("network", "rm", "v6net")
}

// TestNetworkNoICC: berthd --icc=false keeps the default bridge's
// containers from reaching each other (the firewall's rule), and inspect
// says so in the bridge's options.
func TestNetworkNoICC(t *testing.T) {
	d := networkDaemon(t, "--icc=false")
	if o := d.mustDocker("network", "inspect", "-f", `{{index .Options "com.docker.network.bridge.enable_icc"}}`, "bridge"); o != "false" {
		t.Fatalf("enable_icc option: %q", o)
	}
	d.mustDocker("run", "-d", "--name", "lone", "busybox", "sleep", "300")
	if out, err := d.docker("run", "--rm", "busybox", "ping", "-c1", "-W1", d.ipOf("lone", "bridge")); err == nil {
		t.Fatalf("ping across the bridge with --icc=false worked:\n%s", out)
	}
}

// TestNetworkKilledDaemon: berthd killed with SIGKILL (no clean stop) and
// started again: the network records and allocations open cleanly, the
// running container keeps its address and name (DNS served again), a new
// one gets another address, and stopping them releases everything.
func TestNetworkKilledDaemon(t *testing.T) {
	d := networkDaemon(t)
	third := strings.Split(d.Bip, ".")[2]
	d.mustDocker("network", "create", "--subnet", "10.67."+third+".0/24", "crashnet")
	d.mustDocker("run", "-d", "--name", "survivor", "--network", "crashnet", "busybox", "sleep", "300")
	ip := d.ipOf("survivor", "crashnet")
	d.kill()
	d.startNetworking()
	if got := d.ipOf("survivor", "crashnet"); got != ip {
		t.Fatalf("address after the crash %q, was %q", got, ip)
	}
	out := d.mustDocker("run", "--rm", "--network", "crashnet", "busybox", "sh", "-c", "ip -o -4 addr show eth0; ping -c1 -W1 survivor")
	if strings.Contains(out, " "+ip+"/") {
		t.Fatalf("a new container got the survivor's address %s:\n%s", ip, out)
	}
	d.mustDocker("stop", "-t", "0", "survivor")
	var ni struct {
		Containers map[string]struct{ Name string }
	}
	d.inspectJSON("network", "crashnet", &ni)
	if len(ni.Containers) != 0 {
		t.Fatalf("endpoints left after the stop: %+v", ni.Containers)
	}
}

// dockerd's --bridge=none: no default bridge network (and no bridge or
// rules on the host), a container that names no network gets loopback only,
// and --network bridge is "not found".
func TestNetworkBridgeNone(t *testing.T) {
	d := containerDaemonNoStart(t)
	d.Bridge = "none"
	var owned []string
	before := snapshotHostNet(t, d, nil)
	t.Cleanup(func() {
		if t.Failed() && d.stderr != nil {
			t.Logf("berthd log:\n%s", d.stderr)
		}
		checkHostClean(t, before, snapshotHostNet(t, d, owned))
	})
	stopNetworkDaemon(t, d, &owned)
	d.startNetworking()
	if out := d.mustDocker("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "bridge") || !strings.Contains(out, "host") || !strings.Contains(out, "none") {
		t.Fatalf("network ls with --bridge=none:\n%s", out)
	}
	dev := d.mustDocker("run", "--rm", "busybox", "cat", "/proc/net/dev")
	if !strings.Contains(dev, "lo:") || strings.Contains(dev, "eth0") {
		t.Fatalf("a container without a network has more than loopback:\n%s", dev)
	}
	// Over the API: the docker CLI answers any 404 from create with a pull
	// of the image from Docker Hub, which this test must not attempt.
	resp, err := d.http().Post("http://berth/containers/create", "application/json",
		strings.NewReader(`{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"bridge"}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "not found") {
		t.Fatalf("create on network bridge with --bridge=none: %d %s", resp.StatusCode, body)
	}
	if out, err := exec.Command("ip", "link", "show", "none").CombinedOutput(); err == nil {
		t.Fatalf("a host link named none exists:\n%s", out)
	}
}

package daemon

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/testutil"
)

// netDaemon starts a berthd with its firewall on (backend "iptables" or
// "nftables" through daemon.json), a busybox image and berth-shim. At the
// end it removes its containers and networks, stops berthd and checks that
// no berth rule naming one of its bridges is left on the host, and that
// berth's base chains (or table) are gone too when no other berthd has rules
// there (other test daemons may run on this host at the same time).
func netDaemon(t *testing.T, backend string) *daemon {
	t.Helper()
	testutil.RequiresRoot(t)
	for _, bin := range []string{"docker", "iptables", "nft", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	before := berthRules(t)
	d := newDaemon(t)
	short, err := os.MkdirTemp("", "bx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	d.ExecRoot = short
	cfg := fmt.Sprintf(`{"firewall-backend": %q}`, backend)
	if err := os.WriteFile(filepath.Join(d.dir, "daemon.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	buildShim(t, d)
	seedBusybox(t, d)
	d.start("--iptables=true")
	t.Cleanup(func() {
		select {
		case <-d.exited:
			d.start("--iptables=true")
		default:
		}
		bridges := []string{d.Bridge}
		out, _ := d.docker("network", "ls", "-q", "--filter", "driver=bridge")
		for _, id := range strings.Fields(out) {
			if len(id) >= 12 {
				bridges = append(bridges, "br-"+id[:12])
			}
		}
		out, _ = d.docker("ps", "-aq")
		for _, id := range strings.Fields(out) {
			// A --rm container may still be removing itself.
			if o, err := d.docker("rm", "-f", id); err != nil && !strings.Contains(o, "No such container") && !strings.Contains(o, "already in progress") {
				t.Errorf("cleanup rm -f %s: %v\n%s", id, err, o)
			}
		}
		if o, err := d.docker("network", "prune", "-f"); err != nil {
			t.Errorf("cleanup network prune: %v\n%s", err, o)
		}
		if err := d.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		after := berthRules(t)
		for _, br := range bridges {
			if strings.Contains(after, br) {
				t.Errorf("berth's rules for %s left on the host:\n%s", br, after)
			}
		}
		if before == "" && after != "" && !strings.Contains(after, "-i ") && !strings.Contains(after, "iifname") {
			t.Errorf("berth's base chains left on the host:\n%s", after)
		}
	})
	return d
}

// sigkill kills berthd by its PID as a crash would, leaving its bridges,
// rules and containers (unlike kill, which cleans the bridge up).
func (d *daemon) sigkill() {
	d.t.Helper()
	d.cmd.Process.Kill()
	<-d.exited
}

var saveCounters = regexp.MustCompile(`\[\d+:\d+\]`)

// berthRules is every line of the host's iptables-save and ip6tables-save
// that names a BERTH chain, and berth's nftables table if there is one.
func berthRules(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(save).Output()
		if err != nil {
			t.Fatalf("%s: %v", save, err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "BERTH") {
				lines = append(lines, saveCounters.ReplaceAllString(l, ""))
			}
		}
	}
	if nft, err := exec.Command("nft", "list", "table", "inet", "berth").CombinedOutput(); err == nil {
		lines = append(lines, string(nft))
	}
	return strings.Join(lines, "\n")
}

// freeHostPort returns a TCP port free on the host right now.
func freeHostPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeHostRange finds n consecutive TCP ports free on the host.
func freeHostRange(t *testing.T, n int) int {
	t.Helper()
	for base := 20000 + int(time.Now().UnixNano()%20000); base < 60000; base += n + 11 {
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// httpdCmd serves /www/index.html (text) with busybox httpd on port 80.
func httpdCmd(text string) []string {
	return []string{"busybox", "sh", "-c", "mkdir -p /www && echo " + text + " > /www/index.html && exec busybox httpd -f -p 80 -h /www"}
}

// httpGet is a command for a container that GETs /index.html from
// host:port with busybox nc and prints the response (busybox wget, a static
// glibc program, crashes resolving names without NSS in the container).
func httpGet(host string, port int) []string {
	return []string{"sh", "-c", fmt.Sprintf("printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 5 %s %d", host, port)}
}

// curl fetches url from the host with curl, retrying while the server
// starts.
func curl(t *testing.T, url string) string {
	t.Helper()
	var out []byte
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err = exec.Command("curl", "-sf", "--max-time", "3", url).CombinedOutput()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	t.Fatalf("curl %s: %v\n%s", url, err, out)
	return ""
}

func TestNetworkPublishedPorts(t *testing.T) {
	d := netDaemon(t, "iptables")
	gw := strings.Split(d.Bip, "/")[0]

	// -p 127.0.0.1:HP:80 serves busybox httpd's file to curl on the host;
	// a second publish on every address is for the hairpin below.
	hp, hp2 := freeHostPort(t), freeHostPort(t)
	args := append([]string{"run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", hp), "-p", fmt.Sprintf("%d:80", hp2)}, httpdCmd("hello-berth")...)
	d.mustDocker(args...)
	if got := curl(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp)); got != "hello-berth" {
		t.Errorf("curl through 127.0.0.1:%d = %q", hp, got)
	}
	// The host's other address goes through the firewall's DNAT.
	if got := curl(t, fmt.Sprintf("http://%s:%d/index.html", gw, hp2)); got != "hello-berth" {
		t.Errorf("curl through %s:%d = %q", gw, hp2, got)
	}
	out := d.mustDocker("port", "web")
	for _, want := range []string{fmt.Sprintf("80/tcp -> 127.0.0.1:%d", hp), fmt.Sprintf("80/tcp -> 0.0.0.0:%d", hp2)} {
		if !strings.Contains(out, want) {
			t.Errorf("docker port web = %q, want a line %q", out, want)
		}
	}
	// Many connections through the proxy in a row.
	for i := 0; i < 20; i++ {
		if got := curl(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp)); got != "hello-berth" {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	if rules := berthRules(t); !strings.Contains(rules, fmt.Sprintf("--dport %d -j DNAT", hp2)) {
		t.Errorf("no DNAT rule for %d:\n%s", hp2, rules)
	}

	// Hairpin: another container reaches web's published port through the
	// host's address.
	out, err := d.docker(append([]string{"run", "--rm", "busybox"}, httpGet(gw, hp2)...)...)
	if err != nil || !strings.HasSuffix(out, "\nhello-berth") {
		t.Errorf("hairpin wget: %v %q", err, out)
	}

	// berth's own reservation: docker's words, and the container is not
	// left running.
	_, err = d.docker("run", "-d", "--name", "again", "-p", fmt.Sprintf("127.0.0.1:%d:80", hp), "busybox", "sleep", "100")
	if err == nil {
		t.Fatal("a second container took an allocated port")
	}
	if out, _ := d.docker("inspect", "-f", "{{.State.Running}}", "again"); out == "true" {
		t.Error("the container whose port was taken is running")
	}
	// A port another program holds: the bind error, and nothing left.
	// The container publishes on every address (so it would get rules)
	// and also a port before it that works, which must be released too.
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := l.Addr().(*net.TCPAddr).Port
	first := freeHostPort(t)
	out, err = d.docker("run", "-d", "--name", "clash", "-p", fmt.Sprintf("%d:81", first), "-p", fmt.Sprintf("%d:80", held), "busybox", "sleep", "100")
	if err == nil || !strings.Contains(out, "driver failed programming external connectivity on endpoint clash") || !strings.Contains(out, fmt.Sprintf("listen tcp4 0.0.0.0:%d: bind: address already in use", held)) {
		t.Errorf("run on a held port: %v\n%s", err, out)
	}
	if out, _ := d.docker("inspect", "-f", "{{.State.Running}}", "clash"); out == "true" {
		t.Error("the container whose port was held is running")
	}
	if rules := berthRules(t); strings.Contains(rules, fmt.Sprintf("--dport %d ", held)) || strings.Contains(rules, fmt.Sprintf("--dport %d ", first)) {
		t.Errorf("a rule for the failed container's ports is left:\n%s", rules)
	}
	if l2, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", first)); err != nil {
		t.Errorf("the failed container's other port %d is still held: %v", first, err)
	} else {
		l2.Close()
	}
	// The allocated-port error names berth's own reservation.
	out, _ = d.docker("start", "again")
	if !strings.Contains(out, fmt.Sprintf("Bind for 127.0.0.1:%d failed: port is already allocated", hp)) {
		t.Errorf("start on an allocated port: %q", out)
	}

	// -P publishes --expose'd ports on ephemeral host ports, matching
	// docker port and NetworkSettings.Ports.
	d.mustDocker("run", "-d", "--name", "all", "--expose", "7000", "--expose", "7001/udp", "-P", "busybox", "sleep", "300")
	var ports map[string][]struct{ HostIp, HostPort string }
	if err := json.Unmarshal([]byte(d.mustDocker("inspect", "-f", "{{json .NetworkSettings.Ports}}", "all")), &ports); err != nil {
		t.Fatal(err)
	}
	out = d.mustDocker("port", "all")
	for _, p := range []string{"7000/tcp", "7001/udp"} {
		bs := ports[p]
		if len(bs) == 0 || bs[0].HostPort == "" || bs[0].HostPort == "0" {
			t.Errorf("%s: bindings %v", p, bs)
			continue
		}
		want := fmt.Sprintf("%s -> 0.0.0.0:%s", p, bs[0].HostPort)
		if !strings.Contains(out, want) {
			t.Errorf("docker port all = %q, want %q", out, want)
		}
	}

	// A berthd killed and started again publishes the ports again (the
	// container kept running, and so did its DNAT rules).
	d.sigkill()
	d.start("--iptables=true")
	if got := curl(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp)); got != "hello-berth" {
		t.Errorf("after a restart, curl through 127.0.0.1:%d = %q", hp, got)
	}
	if got := curl(t, fmt.Sprintf("http://%s:%d/index.html", gw, hp2)); got != "hello-berth" {
		t.Errorf("after a restart, curl through %s:%d = %q", gw, hp2, got)
	}
	if out := d.mustDocker("port", "web", "80/tcp"); !strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", hp)) {
		t.Errorf("after a restart, docker port web 80/tcp = %q", out)
	}

	// A host port range takes its first free port: the first one is held
	// by another program here.
	base := freeHostRange(t, 3)
	hold, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", base))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	d.mustDocker("run", "-d", "--name", "ranged", "-p", fmt.Sprintf("127.0.0.1:%d-%d:80", base, base+2), "busybox", "sleep", "300")
	if out := d.mustDocker("port", "ranged", "80"); out != fmt.Sprintf("127.0.0.1:%d", base+1) {
		t.Errorf("docker port ranged 80 = %q, want 127.0.0.1:%d", out, base+1)
	}

	// Removing the containers releases their ports: another program can
	// bind them.
	d.mustDocker("rm", "-f", "web", "all", "ranged")
	for _, p := range []int{hp, hp2} {
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Errorf("port %d still held after rm: %v", p, err)
			continue
		}
		l.Close()
	}
}

// The same publish with the nftables backend.
func TestNetworkPublishedPortsNFTables(t *testing.T) {
	d := netDaemon(t, "nftables")
	gw := strings.Split(d.Bip, "/")[0]
	hp, hp2 := freeHostPort(t), freeHostPort(t)
	args := append([]string{"run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", hp), "-p", fmt.Sprintf("%d:80", hp2)}, httpdCmd("hello-nft")...)
	d.mustDocker(args...)
	if got := curl(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp)); got != "hello-nft" {
		t.Errorf("curl through 127.0.0.1 = %q", got)
	}
	if got := curl(t, fmt.Sprintf("http://%s:%d/index.html", gw, hp2)); got != "hello-nft" {
		t.Errorf("curl through %s:%d = %q", gw, hp2, got)
	}
	rules := berthRules(t)
	if !strings.Contains(rules, "table inet berth") || !strings.Contains(rules, fmt.Sprintf(`oifname != "%s" masquerade`, d.Bridge)) || !strings.Contains(rules, "dnat ip to") {
		t.Errorf("no masquerade or DNAT for %s in berth's nftables table:\n%s", d.Bridge, rules)
	}
	// After a SIGKILL and restart the port is published again, its rules
	// not doubled.
	d.sigkill()
	d.start("--iptables=true")
	if got := curl(t, fmt.Sprintf("http://%s:%d/index.html", gw, hp2)); got != "hello-nft" {
		t.Errorf("after a restart, curl through %s:%d = %q", gw, hp2, got)
	}
	if got := curl(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp)); got != "hello-nft" {
		t.Errorf("after a restart, curl through 127.0.0.1 = %q", got)
	}
	rules = berthRules(t)
	if n := strings.Count(rules, fmt.Sprintf("dport %d", hp2)); n != 1 {
		t.Errorf("after a restart, %d DNAT rules for %d:\n%s", n, hp2, rules)
	}
	// No iptables rule for this daemon's bridge (other test daemons may
	// have theirs).
	for _, l := range strings.Split(rules, "\n") {
		if strings.HasPrefix(l, "-A ") && strings.Contains(l, d.Bridge) {
			t.Errorf("iptables rule with the nftables backend: %s", l)
		}
	}
}

// extServer runs busybox httpd in a network namespace of its own behind a
// veth pair (198.18.N.2, the host side 198.18.N.1): a server "outside" the
// host's bridges. It returns the server's address and port.
func extServer(t *testing.T, text string) (string, int) {
	t.Helper()
	var r [2]byte
	rand.Read(r[:])
	ns := fmt.Sprintf("berth-it-%x", r[:])
	veth := fmt.Sprintf("bxe%x", r[:])
	n := 1 + int(r[0])%250
	mustRun := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	mustRun("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	mustRun("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
	t.Cleanup(func() { exec.Command("ip", "link", "del", veth).Run() })
	mustRun("ip", "addr", "add", fmt.Sprintf("198.18.%d.1/24", n), "dev", veth)
	mustRun("ip", "link", "set", veth, "up")
	mustRun("ip", "netns", "exec", ns, "ip", "addr", "add", fmt.Sprintf("198.18.%d.2/24", n), "dev", "eth0")
	mustRun("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
	mustRun("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	mustRun("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", fmt.Sprintf("198.18.%d.1", n))
	www := t.TempDir()
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte(text+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed")
	}
	cmd := exec.Command("ip", "netns", "exec", ns, bb, "httpd", "-f", "-p", "8000", "-h", www)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	curl(t, fmt.Sprintf("http://198.18.%d.2:8000/index.html", n)) // up, and reachable from the host
	return fmt.Sprintf("198.18.%d.2", n), 8000
}

// Containers on a user network reach a server outside the host's bridges
// (forwarding, masquerade); on an --internal network they cannot.
func TestNetworkInternal(t *testing.T) {
	d := netDaemon(t, "iptables")
	host, port := extServer(t, "outside")
	d.mustDocker("network", "create", "pubnet")
	d.mustDocker("network", "create", "--internal", "intnet")
	out, err := d.docker(append([]string{"run", "--rm", "--network", "pubnet", "busybox"}, httpGet(host, port)...)...)
	if err != nil || !strings.HasSuffix(out, "\noutside") {
		t.Errorf("pubnet → outside: %v %q", err, out)
	}
	out, err = d.docker(append([]string{"run", "--rm", "--network", "intnet", "busybox"}, httpGet(host, port)...)...)
	if strings.Contains(out, "outside") {
		t.Errorf("internal network reached out: %v %q", err, out)
	}
	if rules := berthRules(t); !strings.Contains(rules, "BERTH-ISOLATION-STAGE-1") || !strings.Contains(rules, "-j DROP") {
		t.Errorf("no internal drops:\n%s", rules)
	}
}

// The berth CLI publishes a port, reports it in inspect, and names on a
// user network resolve through it too.
func TestNetworkPortsBerthCLI(t *testing.T) {
	d := netDaemon(t, "iptables")
	bin := filepath.Join(t.TempDir(), "berth")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/berth-engine/berth/cmd/berth").CombinedOutput(); err != nil {
		t.Fatalf("go build berth: %v\n%s", err, out)
	}
	b := &berthCLI{t: t, bin: bin, d: d}
	hp := freeHostPort(t)
	b.must(append([]string{"run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80/tcp", hp)}, httpdCmd("via-berth")...)...)
	if got := curl(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp)); got != "via-berth" {
		t.Errorf("curl = %q", got)
	}
	want := fmt.Sprintf(`{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"%d"}]}`, hp)
	if got := b.must("inspect", "-f", "{{json .NetworkSettings.Ports}}", "web"); got != want {
		t.Errorf("inspect Ports = %s, want %s", got, want)
	}
	b.must("network", "create", "clinet")
	b.must("run", "-d", "--name", "named", "--network", "clinet", "busybox", "sleep", "300")
	out, errOut, code := b.run("", "run", "--rm", "--network", "clinet", "busybox", "nslookup", "named", "127.0.0.11")
	ip := b.must("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "named")
	if code != 0 || !strings.Contains(out, "Address: "+ip) {
		t.Errorf("berth run nslookup named: %d\n%s%s", code, out, errOut)
	}
	// A bad port spec is refused before anything is made.
	if _, errOut, code := b.run("", "run", "--rm", "-p", "127.0.0.1:99999:80", "busybox", "true"); code == 0 || !strings.Contains(errOut, "99999") {
		t.Errorf("run -p 127.0.0.1:99999:80: exit %d, %s", code, errOut)
	}
}

// -P publishes the image's EXPOSE too (an image committed with one), on
// ephemeral ports that docker port and inspect agree on.
func TestNetworkPublishAllImageExpose(t *testing.T) {
	d := netDaemon(t, "iptables")
	d.mustDocker("create", "--name", "base", "busybox", "true")
	d.mustDocker("commit", "--change", "EXPOSE 9000/tcp", "base", "exposed:1")
	d.mustDocker("rm", "base")
	t.Cleanup(func() { d.docker("rmi", "exposed:1") })
	d.mustDocker("run", "-d", "--name", "img", "-P", "exposed:1", "sleep", "300")
	out := d.mustDocker("port", "img")
	m := regexp.MustCompile(`^9000/tcp -> 0\.0\.0\.0:(\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker port img = %q, want 9000/tcp on an ephemeral port", out)
	}
	if got := d.mustDocker("inspect", "-f", `{{(index (index .NetworkSettings.Ports "9000/tcp") 0).HostPort}}`, "img"); got != m[1] {
		t.Errorf("inspect HostPort %q, docker port %q", got, m[1])
	}
}

package daemon

import (
	"net"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

// loopbackResolver is a DNS server of our own on 127.0.0.153:53 (UDP and
// TCP) in the host's namespace that knows one name, outside.berth.test.
// 127.0.0.0/8 is all on lo, so this address does not meet a resolver the
// host may run on 127.0.0.1 or 127.0.0.53.
func loopbackResolver(t *testing.T) string {
	t.Helper()
	const addr = "127.0.0.153:53"
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		pc.Close()
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
		resp := new(mdns.Msg)
		resp.SetReply(req)
		q := req.Question[0]
		if strings.EqualFold(q.Name, "outside.berth.test.") && q.Qtype == mdns.TypeA {
			resp.Answer = append(resp.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 99)})
		} else if !strings.EqualFold(q.Name, "outside.berth.test.") {
			resp.Rcode = mdns.RcodeNameError
		}
		w.WriteMsg(resp)
	})
	us := &mdns.Server{PacketConn: pc, Handler: h}
	ts := &mdns.Server{Listener: l, Handler: h}
	started := make(chan struct{}, 2)
	us.NotifyStartedFunc = func() { started <- struct{}{} }
	ts.NotifyStartedFunc = func() { started <- struct{}{} }
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	<-started
	<-started
	t.Cleanup(func() { us.Shutdown(); ts.Shutdown() })
	return "127.0.0.153"
}

// nslookup runs busybox nslookup NAME 127.0.0.11 in a new container on
// network and returns its output and error.
func (d *daemon) nslookup(network, dns, name string) (string, error) {
	args := []string{"run", "--rm", "--network", network}
	if dns != "" {
		args = append(args, "--dns", dns)
	}
	return d.docker(append(args, "busybox", "nslookup", name, "127.0.0.11")...)
}

func TestNetworkEmbeddedDNS(t *testing.T) {
	d := netDaemon(t, "iptables")
	up := loopbackResolver(t)
	d.mustDocker("network", "create", "dnsnet")
	d.mustDocker("network", "create", "othernet")
	id := lastLine(d.mustDocker("run", "-d", "--name", "srv", "--network", "dnsnet", "--network-alias", "svc", "busybox", "sleep", "300"))
	ip := d.mustDocker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "srv")
	if net.ParseIP(ip) == nil {
		t.Fatalf("srv's address: %q", ip)
	}
	// Container name, alias, ID prefix, any case, with a trailing dot.
	for _, name := range []string{"srv", "svc", id[:12], "SRV", "srv."} {
		out, err := d.nslookup("dnsnet", up, name)
		if err != nil || !strings.Contains(out, "Address: "+ip) {
			t.Errorf("nslookup %s: %v\n%s", name, err, out)
		}
	}
	// Names berth does not know go to the container's --dns server, a
	// resolver of our own on the host's loopback.
	out, err := d.nslookup("dnsnet", up, "outside.berth.test")
	if err != nil || !strings.Contains(out, "192.0.2.99") {
		t.Errorf("nslookup outside.berth.test: %v\n%s", err, out)
	}
	out, err = d.nslookup("dnsnet", up, "nowhere.berth.test")
	if err == nil || strings.Contains(out, "192.0.2.") {
		t.Errorf("nslookup nowhere.berth.test succeeded: %s", out)
	}
	// Port 53 is the container's own: a server of its own binds it, and
	// 127.0.0.11 still answers (berth's server is on other ports behind a
	// DNAT in the container's namespace, as dockerd does).
	out, err = d.docker("run", "--rm", "--network", "dnsnet", "busybox", "sh", "-c", "nc -l -p 53 & sleep 0.3; kill -0 $! && nslookup svc 127.0.0.11")
	if err != nil || !strings.Contains(out, "Address: "+ip) {
		t.Errorf("nslookup beside a server on port 53: %v\n%s", err, out)
	}
	// A container that shares no network with srv does not see it.
	out, err = d.nslookup("othernet", up, "srv")
	if err == nil && strings.Contains(out, ip) {
		t.Errorf("othernet resolved srv:\n%s", out)
	}
	// Containers resolve each other both ways, by name, and reach each
	// other.
	out, err = d.docker("run", "--rm", "--name", "cli", "--network", "dnsnet", "busybox", "ping", "-c", "1", "-W", "3", "svc")
	if err != nil || !strings.Contains(out, ip) {
		t.Errorf("ping svc: %v\n%s", err, out)
	}
	// After a crash and restart of berthd, the running srv's name still
	// resolves (the servers are made again for running containers).
	d.sigkill()
	d.start("--iptables=true")
	out, err = d.nslookup("dnsnet", up, "svc")
	if err != nil || !strings.Contains(out, "Address: "+ip) {
		t.Errorf("after a restart, nslookup svc: %v\n%s", err, out)
	}
	// resolv.conf points at the embedded server.
	out = d.mustDocker("run", "--rm", "--network", "dnsnet", "--dns", up, "busybox", "cat", "/etc/resolv.conf")
	if !strings.Contains(out, "nameserver 127.0.0.11") {
		t.Errorf("resolv.conf:\n%s", out)
	}
}

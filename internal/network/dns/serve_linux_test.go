package dns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/berth-engine/berth/internal/network/netns"
	"github.com/berth-engine/berth/internal/testutil"
)

func testNetNS(t *testing.T) string { return benchNetNS(t) }

// benchNetNS makes a named namespace removed when t ends.
func benchNetNS(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "berth-test-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return "/var/run/netns/" + name
}

// exchangeIn asks the server at 127.0.0.11 from inside the namespace.
func exchangeIn(t *testing.T, nsPath, network, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	var conn *mdns.Conn
	err := netns.Do(nsPath, func() error {
		var err error
		conn, err = mdns.DialTimeout(network, address().String(), 2*time.Second)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &mdns.Client{Net: network, Timeout: 5 * time.Second}
	resp, _, err := c.ExchangeWithConn(query(name, qtype), conn)
	if err != nil {
		t.Fatalf("%s %s: %v", network, name, err)
	}
	return resp
}

func TestServeInNetNS(t *testing.T) {
	testutil.RequiresRoot(t)
	ns := testNetNS(t) // lo is down: Serve brings it up
	up := upstreamServer(t)
	before := runtime.NumGoroutine()
	s, err := Serve(context.Background(), ns, newFake(), []netip.AddrPort{up})
	if err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"udp", "tcp"} {
		resp := exchangeIn(t, ns, network, "WEB.", mdns.TypeA)
		if len(resp.Answer) != 1 || resp.Answer[0].(*mdns.A).A.String() != "172.20.0.2" {
			t.Errorf("%s web: %v", network, resp)
		}
		// Forwarded from the host's namespace to the host's loopback.
		resp = exchangeIn(t, ns, network, "outside.test.", mdns.TypeA)
		if len(resp.Answer) != 1 || resp.Answer[0].(*mdns.A).A.String() != "192.0.2.7" {
			t.Errorf("%s outside.test: %v", network, resp)
		}
	}
	// Port 53 stays free for the container's own programs, and queries
	// to 127.0.0.11:53 still reach berth's server.
	var own []interface{ Close() error }
	err = netns.Do(ns, func() error {
		pc, err := net.ListenPacket("udp4", "0.0.0.0:53")
		if err != nil {
			return err
		}
		own = append(own, pc)
		l, err := net.Listen("tcp4", "0.0.0.0:53")
		if err != nil {
			return err
		}
		own = append(own, l)
		return nil
	})
	if err != nil {
		t.Errorf("a program in the namespace cannot bind port 53: %v", err)
	}
	resp0 := exchangeIn(t, ns, "udp", "web.", mdns.TypeA)
	if len(resp0.Answer) != 1 {
		t.Errorf("with port 53 bound in the namespace: %v", resp0)
	}
	resp0 = exchangeIn(t, ns, "tcp", "web.", mdns.TypeA)
	if len(resp0.Answer) != 1 {
		t.Errorf("tcp with port 53 bound in the namespace: %v", resp0)
	}
	for _, c := range own {
		c.Close()
	}
	if out, err := exec.Command("ip", "netns", "exec", filepath.Base(ns), "nft", "list", "table", "ip", "berth-dns").CombinedOutput(); err != nil {
		t.Errorf("no redirect table: %v %s", err, out)
	}
	// The big answer over UDP comes back whole when the client allows it
	// (EDNS0), and truncated (for the client to retry over TCP) otherwise.
	resp := exchangeIn(t, ns, "udp", "big.test.", mdns.TypeTXT)
	if !resp.Truncated {
		t.Errorf("big answer over 512-byte UDP not truncated: %d records", len(resp.Answer))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing listens any more, and the goroutines are gone.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
	err = netns.Do(ns, func() error {
		_, err := mdns.DialTimeout("tcp", address().String(), time.Second)
		return err
	})
	if err == nil {
		t.Error("127.0.0.11:53 still answers after Close")
	}
	if out, err := exec.Command("ip", "netns", "exec", filepath.Base(ns), "nft", "list", "table", "ip", "berth-dns").CombinedOutput(); err == nil {
		t.Errorf("redirect table left after Close:\n%s", out)
	}
}

func TestServeErrors(t *testing.T) {
	if _, err := Serve(context.Background(), "", nil, nil); err == nil {
		t.Error("Serve with no resolver succeeded")
	}
	testutil.RequiresRoot(t)
	if _, err := Serve(context.Background(), "/nonexistent/ns", newFake(), nil); err == nil {
		t.Error("Serve in a missing namespace succeeded")
	}
}

package portmap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/network/firewall"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// fakeFirewall records ports; failOn makes AddPort fail for that host port.
type fakeFirewall struct {
	mu     sync.Mutex
	ports  map[firewall.Port]int
	failOn uint16
}

func (f *fakeFirewall) AddPort(_ context.Context, p firewall.Port) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.HostPort == f.failOn {
		return fmt.Errorf("iptables says no: %w", errdefs.ErrSystem)
	}
	f.ports[p]++
	return nil
}

func (f *fakeFirewall) RemovePort(_ context.Context, p firewall.Port) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ports[p]--; f.ports[p] <= 0 {
		delete(f.ports, p)
	}
	return nil
}

func (f *fakeFirewall) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ports)
}

// freePorts finds n consecutive TCP and UDP ports free on 127.0.0.1.
func freePorts(t *testing.T, n int) uint16 {
	t.Helper()
	for base := 20000 + int(time.Now().UnixNano()%20000); base < 60000; base += n + 7 {
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
			c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if ok {
			return uint16(base)
		}
	}
	t.Fatal("no free ports")
	return 0
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Request
		want string
	}{
		{"bad proto", Request{Proto: "icmp", ContainerPort: 80}, "invalid proto 'icmp'"},
		{"container port 0", Request{ContainerPort: 0}, "invalid containerPort: 0"},
		{"ipv6 host ip", Request{ContainerPort: 80, HostIP: netip.MustParseAddr("::1")}, "invalid host IP ::1"},
		{"range reversed", Request{ContainerPort: 80, HostPortStart: 8010, HostPortEnd: 8000}, "invalid hostPort: 8010-8000"},
		{"range without start", Request{ContainerPort: 80, HostPortEnd: 8000}, "invalid hostPort range 0-8000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate([]Request{{ContainerPort: 1}, tc.r})
			if !errors.Is(err, errdefs.ErrInvalidParameter) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want invalid parameter %q", err, tc.want)
			}
			m := New(nil, Options{})
			if _, err := m.Map(context.Background(), loopback, "", []Request{tc.r}); !errors.Is(err, errdefs.ErrInvalidParameter) {
				t.Fatalf("Map = %v", err)
			}
		})
	}
	for _, r := range []Request{
		{ContainerPort: 80},
		{Proto: "udp", ContainerPort: 53, HostPortStart: 5353},
		{Proto: "sctp", ContainerPort: 9, HostPortStart: 9, HostPortEnd: 10},
	} {
		if err := Validate([]Request{r}); err != nil {
			t.Errorf("Validate(%+v) = %v", r, err)
		}
	}
	m := New(nil, Options{})
	if _, err := m.Map(context.Background(), netip.MustParseAddr("fd00::2"), "", []Request{{ContainerPort: 80}}); !errors.Is(err, errdefs.ErrInvalidParameter) {
		t.Errorf("Map to an IPv6 container = %v", err)
	}
}

func TestParseRange(t *testing.T) {
	lo, hi, err := parseRange("32768\t60999\n")
	if err != nil || lo != 32768 || hi != 60999 {
		t.Fatalf("parseRange = %d %d %v", lo, hi, err)
	}
	for _, bad := range []string{"", "1", "9 8", "0 10", "x 10", "1 70000"} {
		if _, _, err := parseRange(bad); err == nil {
			t.Errorf("parseRange(%q) succeeded", bad)
		}
	}
}

func TestMapConflicts(t *testing.T) {
	ctx := context.Background()
	base := freePorts(t, 3)
	fw := &fakeFirewall{ports: map[firewall.Port]int{}}
	m := New(fw, Options{NoProxy: true})
	cip := netip.MustParseAddr("10.1.0.2")
	bs, err := m.Map(ctx, cip, "br0", []Request{{ContainerPort: 80, HostIP: loopback, HostPortStart: base}})
	if err != nil {
		t.Fatal(err)
	}
	want := Binding{Proto: "tcp", ContainerPort: 80, HostIP: loopback, HostPort: base}
	if len(bs) != 1 || bs[0] != want {
		t.Fatalf("bindings %v, want %v", bs, want)
	}
	if fw.count() != 1 {
		t.Fatalf("firewall has %d ports", fw.count())
	}
	// berth's own reservation: docker's words.
	for _, ip := range []netip.Addr{loopback, netip.IPv4Unspecified()} {
		_, err = m.Map(ctx, cip, "br0", []Request{{ContainerPort: 81, HostIP: ip, HostPortStart: base}})
		wantMsg := fmt.Sprintf("Bind for %s:%d failed: port is already allocated", ip, base)
		if !errors.Is(err, errdefs.ErrConflict) || err.Error() != wantMsg {
			t.Errorf("second Map on %s = %v, want %q", ip, err, wantMsg)
		}
	}
	// UDP on the same number is another port.
	if _, err := m.Map(ctx, cip, "br0", []Request{{Proto: "udp", ContainerPort: 81, HostIP: loopback, HostPortStart: base}}); err != nil {
		t.Errorf("udp on a tcp-held number: %v", err)
	}
	// A port another program holds: the kernel's words.
	l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", base+1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = m.Map(ctx, cip, "br0", []Request{{ContainerPort: 80, HostIP: loopback, HostPortStart: base + 1}})
	wantMsg := fmt.Sprintf("listen tcp4 127.0.0.1:%d: bind: address already in use", base+1)
	if !errors.Is(err, errdefs.ErrConflict) || err.Error() != wantMsg {
		t.Errorf("Map on a foreign port = %v, want %q", err, wantMsg)
	}
	// A range skips both and takes the third.
	bs, err = m.Map(ctx, cip, "br0", []Request{{ContainerPort: 82, HostIP: loopback, HostPortStart: base, HostPortEnd: base + 2}})
	if err != nil || bs[0].HostPort != base+2 {
		t.Fatalf("range Map = %v, %v; want port %d", bs, err, base+2)
	}
	// A full range: docker's allocated message with the range.
	_, err = m.Map(ctx, cip, "br0", []Request{{ContainerPort: 83, HostIP: loopback, HostPortStart: base + 2, HostPortEnd: base + 2}})
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("full range = %v", err)
	}
	// All or nothing: the second request fails, the first is released.
	_, err = m.Map(ctx, cip, "br0", []Request{
		{ContainerPort: 90, HostIP: loopback, HostPortStart: base + 1 + 100},
		{ContainerPort: 91, HostIP: loopback, HostPortStart: base},
	})
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("Map = %v", err)
	}
	if c, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", base+101)); err != nil {
		t.Errorf("a failed Map kept its first port: %v", err)
	} else {
		c.Close()
	}
	// A firewall failure releases the socket too.
	fw.failOn = base + 150
	if _, err := m.Map(ctx, cip, "br0", []Request{{ContainerPort: 80, HostIP: loopback, HostPortStart: base + 150}}); !errors.Is(err, errdefs.ErrSystem) {
		t.Errorf("Map with a failing firewall = %v", err)
	}
	if c, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", base+150)); err != nil {
		t.Errorf("a failed Map kept its port: %v", err)
	} else {
		c.Close()
	}
	// Close releases everything: sockets and rules.
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if fw.count() != 0 {
		t.Errorf("firewall still has %d ports", fw.count())
	}
	if c, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", base)); err != nil {
		t.Errorf("Close kept the port: %v", err)
	} else {
		c.Close()
	}
}

func TestMapEphemeral(t *testing.T) {
	ctx := context.Background()
	base := freePorts(t, 3)
	m := New(nil, Options{PortRange: [2]uint16{base, base + 2}, NoProxy: true})
	l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", base))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bs, err := m.Map(ctx, loopback, "", []Request{{ContainerPort: 80, HostIP: loopback}, {ContainerPort: 81, HostIP: loopback}})
	if err != nil {
		t.Fatal(err)
	}
	if bs[0].HostPort != base+1 || bs[1].HostPort != base+2 {
		t.Fatalf("ephemeral ports %v, want %d and %d", bs, base+1, base+2)
	}
	_, err = m.Map(ctx, loopback, "", []Request{{ContainerPort: 82, HostIP: loopback}})
	if !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("exhausted range = %v", err)
	}
	if err := m.Unmap(ctx, bs[:1]); err != nil {
		t.Fatal(err)
	}
	bs2, err := m.Map(ctx, loopback, "", []Request{{ContainerPort: 82, HostIP: loopback}})
	if err != nil || bs2[0].HostPort != base+1 {
		t.Fatalf("after Unmap: %v %v", bs2, err)
	}
	m.Close(ctx)

	// The kernel's range when none is given.
	m = New(nil, Options{NoProxy: true})
	bs, err = m.Map(ctx, loopback, "", []Request{{Proto: "udp", ContainerPort: 53, HostIP: loopback}})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, _ := m.ephemeralRange()
	if bs[0].HostPort < lo || bs[0].HostPort > hi {
		t.Errorf("port %d outside %d-%d", bs[0].HostPort, lo, hi)
	}
	m.Close(ctx)
}

// echoTCP serves on 127.0.0.1 and echoes until the client half-closes.
func echoTCP(t *testing.T) uint16 {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
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
			go func() {
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
				c.Close()
			}()
		}
	}()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func echoUDP(t *testing.T) uint16 {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo(append([]byte("echo "), buf[:n]...), from)
		}
	}()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

func TestProxy(t *testing.T) {
	ctx := context.Background()
	m := New(nil, Options{})
	defer m.Close(ctx)
	tport, uport := echoTCP(t), echoUDP(t)
	bs, err := m.Map(ctx, loopback, "", []Request{
		{ContainerPort: tport, HostIP: loopback},
		{Proto: "udp", ContainerPort: uport, HostIP: loopback},
	})
	if err != nil {
		t.Fatal(err)
	}
	// TCP, with a half-close passed through.
	c, err := net.Dial("tcp4", netip.AddrPortFrom(loopback, bs[0].HostPort).String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "hello")
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != "hello" {
		t.Errorf("tcp through the proxy: %q %v", got, err)
	}
	// UDP from two clients.
	for i := 0; i < 2; i++ {
		u, err := net.Dial("udp4", netip.AddrPortFrom(loopback, bs[1].HostPort).String())
		if err != nil {
			t.Fatal(err)
		}
		u.SetDeadline(time.Now().Add(5 * time.Second))
		msg := fmt.Sprintf("ping %d", i)
		u.Write([]byte(msg))
		buf := make([]byte, 100)
		n, err := u.Read(buf)
		u.Close()
		if err != nil || string(buf[:n]) != "echo "+msg {
			t.Errorf("udp through the proxy: %q %v", buf[:n], err)
		}
	}
	// An open connection does not keep Close waiting.
	c, err = net.Dial("tcp4", netip.AddrPortFrom(loopback, bs[0].HostPort).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "x")
	done := make(chan error)
	go func() { done <- m.Unmap(ctx, bs) }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Unmap hangs on an open connection")
	}
}

func TestBindingString(t *testing.T) {
	b := Binding{Proto: "tcp", ContainerPort: 80, HostIP: netip.IPv4Unspecified(), HostPort: 8080}
	if got := b.String(); got != "0.0.0.0:8080->80/tcp" {
		t.Errorf("String = %q", got)
	}
}

func TestEndpointError(t *testing.T) {
	err := EndpointError("web", "0123abcd", errdefs.New(errdefs.ErrConflict, "Bind for 0.0.0.0:8080 failed: port is already allocated"))
	want := "driver failed programming external connectivity on endpoint web (0123abcd): Bind for 0.0.0.0:8080 failed: port is already allocated"
	if err.Error() != want || !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("EndpointError = %q (conflict %v)", err, errors.Is(err, errdefs.ErrConflict))
	}
	if EndpointError("a", "b", nil) != nil {
		t.Error("EndpointError(nil) is not nil")
	}
}

// SCTP ports are held by a socket where the kernel has SCTP, and refused
// as unavailable where it does not; never a panic or a silent success.
func TestMapSCTP(t *testing.T) {
	ctx := context.Background()
	m := New(nil, Options{})
	defer m.Close(ctx)
	base := freePorts(t, 1)
	bs, err := m.Map(ctx, loopback, "", []Request{{Proto: "sctp", ContainerPort: 9, HostIP: loopback, HostPortStart: base}})
	switch {
	case errors.Is(err, errdefs.ErrUnavailable):
		t.Logf("no SCTP here: %v", err)
	case err != nil:
		t.Fatalf("Map sctp: %v", err)
	default:
		if bs[0].HostPort != base || bs[0].Proto != "sctp" {
			t.Errorf("sctp binding %v", bs[0])
		}
		if _, err := m.Map(ctx, loopback, "", []Request{{Proto: "sctp", ContainerPort: 9, HostIP: loopback, HostPortStart: base}}); !errors.Is(err, errdefs.ErrConflict) {
			t.Errorf("second sctp Map = %v", err)
		}
	}
}

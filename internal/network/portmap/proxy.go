package portmap

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// udpIdle is how long a UDP flow through the proxy lives without traffic
// (the kernel's conntrack keeps unreplied UDP for 30 s, replied for 120 s).
const udpIdle = 90 * time.Second

// maxUDPFlows bounds the clients a UDP proxy tracks at once (each holds a
// socket and a goroutine); datagrams from further clients are dropped
// until a flow idles out.
const maxUDPFlows = 1024

// newProxy opens the socket for hostAddr and, with relay, starts relaying to
// target.
func newProxy(ctx context.Context, proto string, hostAddr, target netip.AddrPort, relay bool) (proxy, error) {
	var lc net.ListenConfig
	switch proto {
	case "tcp":
		l, err := lc.Listen(ctx, "tcp4", hostAddr.String())
		if err != nil {
			return nil, err
		}
		p := &tcpProxy{l: l.(*net.TCPListener), target: target, conns: map[net.Conn]struct{}{}}
		if relay {
			p.wg.Add(1)
			go p.serve()
		}
		return p, nil
	case "udp":
		c, err := lc.ListenPacket(ctx, "udp4", hostAddr.String())
		if err != nil {
			return nil, err
		}
		p := &udpProxy{c: c.(*net.UDPConn), target: target, flows: map[netip.AddrPort]*net.UDPConn{}}
		if relay {
			p.wg.Add(1)
			go p.serve()
		}
		return p, nil
	}
	return holdPort(proto, hostAddr)
}

// tcpProxy relays each connection to target, half-closes included.
type tcpProxy struct {
	l      *net.TCPListener
	target netip.AddrPort
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.AcceptTCP()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go p.relay(c)
	}
}

// track records c so Close can end it; false when closing.
func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *tcpProxy) relay(in *net.TCPConn) {
	defer p.wg.Done()
	defer p.untrack(in)
	d := net.Dialer{Timeout: 10 * time.Second}
	oc, err := d.Dial("tcp4", p.target.String())
	if err != nil {
		return
	}
	out := oc.(*net.TCPConn)
	if !p.track(out) {
		out.Close()
		return
	}
	defer p.untrack(out)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(out, in)
		out.CloseWrite()
	}()
	io.Copy(in, out)
	in.CloseWrite()
	wg.Wait()
}

func (p *tcpProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	err := p.l.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// udpProxy relays datagrams: each client address gets a socket connected to
// target, whose replies go back to that client.
type udpProxy struct {
	c      *net.UDPConn
	target netip.AddrPort
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	flows  map[netip.AddrPort]*net.UDPConn
}

func (p *udpProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := p.c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		out := p.flow(from)
		if out == nil {
			continue
		}
		out.Write(buf[:n])
	}
}

// flow returns the socket for the client at from, making it if new.
func (p *udpProxy) flow(from netip.AddrPort) *net.UDPConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if c, ok := p.flows[from]; ok {
		return c
	}
	if len(p.flows) >= maxUDPFlows {
		return nil
	}
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(p.target))
	if err != nil {
		return nil
	}
	p.flows[from] = c
	p.wg.Add(1)
	go p.replies(from, c)
	return c
}

// replies sends what target answers back to the client until the flow
// idles out or the proxy closes.
func (p *udpProxy) replies(to netip.AddrPort, c *net.UDPConn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		if p.flows[to] == c {
			delete(p.flows, to)
		}
		p.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, 65535)
	for {
		c.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP unreachable from target: keep the flow
		}
		p.c.WriteToUDPAddrPort(buf[:n], to)
	}
}

func (p *udpProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	err := p.c.Close()
	for _, c := range p.flows {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

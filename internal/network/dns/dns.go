package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/network/netns"
)

// Resolver is what the server asks about berth's own names. The daemon
// implements it for one sandbox: the answers depend on the networks the
// container shares with the others. Its methods are called concurrently,
// one call per query, and should not block.
type Resolver interface {
	// LookupName returns the addresses for name (a container name,
	// network alias, or container ID prefix; lower case, without a
	// trailing dot) as seen from the container this server serves;
	// ok=false if berth does not know the name, and the query is
	// forwarded.
	LookupName(name string) (addrs []netip.Addr, ok bool)
	// LookupAddr returns the names for ip (PTR), without trailing dots;
	// ok=false to forward the query.
	LookupAddr(ip netip.Addr) (names []string, ok bool)
}

// Address is where containers ask, in their namespace: Address:53.
const Address = "127.0.0.11"

// address is Address:53.
func address() netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(Address), 53) }

const (
	// ttl is the TTL of berth's own answers, Docker's.
	ttl = 600
	// forwardTimeout bounds one exchange with one upstream server.
	forwardTimeout = 4 * time.Second
	// maxForwards bounds the queries being forwarded at once; beyond it
	// the answer is SERVFAIL at once (Docker allows 100).
	maxForwards = 100
)

// Server is one embedded DNS server. Close stops it.
type Server struct {
	r        Resolver
	upstream []netip.AddrPort
	forwards chan struct{} // semaphore of maxForwards

	udp, tcp *mdns.Server
	wg       sync.WaitGroup
	once     sync.Once

	nsPath     string
	redirected bool // the namespace has the redirect table
}

// Serve starts a server answering on 127.0.0.11:53 (UDP and TCP) inside
// the network namespace at nsPath, from r, forwarding the rest to upstream
// (addresses in the host's namespace), until Close. ctx bounds the setup
// only.
//
// As dockerd does, the sockets listen on ports the kernel picks, and a
// small nftables table in the namespace ("ip berth-dns") DNATs
// 127.0.0.11:53 to them, so that a program in the container can still bind
// port 53 itself. Where that table cannot be made (no nf_tables), or when
// nsPath is "" (the caller's own namespace, whose firewall Serve leaves
// alone), the sockets listen on port 53 directly.
//
// Errors: errdefs.ErrInvalidParameter for a nil Resolver,
// errdefs.ErrSystem when the namespace or the sockets cannot be had.
func Serve(ctx context.Context, nsPath string, r Resolver, upstream []netip.AddrPort) (*Server, error) {
	if r == nil {
		return nil, fmt.Errorf("dns: no resolver: %w", errdefs.ErrInvalidParameter)
	}
	s := &Server{
		r:        r,
		upstream: append([]netip.AddrPort(nil), upstream...),
		forwards: make(chan struct{}, maxForwards),
		nsPath:   nsPath,
	}
	pc, l, err := s.listen(ctx, nsPath != "")
	if err != nil && nsPath != "" {
		pc, l, err = s.listen(ctx, false)
	}
	if err != nil {
		return nil, fmt.Errorf("dns: listen in %s: %w: %w", nsPath, err, errdefs.ErrSystem)
	}
	s.udp = &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(s.serveDNS)}
	s.tcp = &mdns.Server{Listener: l, Handler: mdns.HandlerFunc(s.serveDNS)}
	started := make(chan struct{}, 2)
	for _, srv := range []*mdns.Server{s.udp, s.tcp} {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			srv.ActivateAndServe()
		}()
	}
	// Shutdown refuses a server that has not started yet.
	<-started
	<-started
	return s, nil
}

// listen makes the server's sockets in its namespace: on kernel-chosen
// ports behind the redirect table when redirected, else on port 53.
func (s *Server) listen(ctx context.Context, redirected bool) (net.PacketConn, net.Listener, error) {
	var (
		pc net.PacketConn
		l  net.Listener
	)
	port := address().Port()
	if redirected {
		port = 0
	}
	addr := netip.AddrPortFrom(address().Addr(), port).String()
	err := netns.Do(s.nsPath, func() error {
		if err := loopbackUp(); err != nil {
			return err
		}
		var lc net.ListenConfig
		var err error
		if pc, err = lc.ListenPacket(ctx, "udp4", addr); err != nil {
			return err
		}
		if l, err = lc.Listen(ctx, "tcp4", addr); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if redirected {
		up := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
		tp := uint16(l.Addr().(*net.TCPAddr).Port)
		if err := redirect(s.nsPath, up, tp); err != nil {
			pc.Close()
			l.Close()
			return nil, nil, err
		}
		s.redirected = true
	}
	return pc, l, nil
}

// Close stops the server and waits for its goroutines, forwards in flight
// included (each bounded by the forward timeout).
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		err1 := s.udp.Shutdown()
		err2 := s.tcp.Shutdown()
		s.wg.Wait()
		if s.redirected {
			unredirect(s.nsPath)
		}
		if err1 != nil {
			err = err1
		} else {
			err = err2
		}
	})
	return err
}

func (s *Server) serveDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	tcp := false
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		tcp = true
	}
	resp := s.answer(req, tcp)
	if resp == nil {
		return
	}
	if !tcp {
		size := mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	w.WriteMsg(resp)
}

// answer builds the reply to req; nil drops it (a response, not a query).
func (s *Server) answer(req *mdns.Msg, tcp bool) *mdns.Msg {
	if req.Response {
		return nil
	}
	resp := new(mdns.Msg)
	if req.Opcode != mdns.OpcodeQuery {
		return resp.SetRcode(req, mdns.RcodeNotImplemented)
	}
	if len(req.Question) != 1 {
		return resp.SetRcode(req, mdns.RcodeFormatError)
	}
	q := req.Question[0]
	if q.Qclass == mdns.ClassINET {
		if own := s.own(req, q); own != nil {
			return own
		}
	}
	return s.forward(req, tcp)
}

// own answers q from the Resolver, or returns nil when the name is not
// berth's.
func (s *Server) own(req *mdns.Msg, q mdns.Question) *mdns.Msg {
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	if name == "" {
		return nil
	}
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	hdr := func(t uint16) mdns.RR_Header {
		return mdns.RR_Header{Name: q.Name, Rrtype: t, Class: mdns.ClassINET, Ttl: ttl}
	}
	if q.Qtype == mdns.TypePTR {
		ip, ok := ptrAddr(name)
		if !ok {
			return nil
		}
		names, ok := s.r.LookupAddr(ip)
		if !ok || len(names) == 0 {
			return nil
		}
		for _, n := range names {
			resp.Answer = append(resp.Answer, &mdns.PTR{Hdr: hdr(mdns.TypePTR), Ptr: mdns.Fqdn(n)})
		}
		return resp
	}
	addrs, ok := s.r.LookupName(name)
	if !ok {
		return nil
	}
	switch q.Qtype {
	case mdns.TypeA:
		for _, a := range addrs {
			if a.Is4() {
				resp.Answer = append(resp.Answer, &mdns.A{Hdr: hdr(mdns.TypeA), A: net.IP(a.AsSlice())})
			}
		}
	case mdns.TypeAAAA:
		for _, a := range addrs {
			if a.Is6() && !a.Is4In6() {
				resp.Answer = append(resp.Answer, &mdns.AAAA{Hdr: hdr(mdns.TypeAAAA), AAAA: net.IP(a.AsSlice())})
			}
		}
	}
	// Any other type of a name berth owns: NOERROR, no answer, rather
	// than asking the outside world about a container's name.
	return resp
}

// ptrAddr parses "4.3.2.1.in-addr.arpa" into 1.2.3.4, and the 32 reversed
// nibbles of an "ip6.arpa" name into its IPv6 address.
func ptrAddr(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0])
		if err != nil || !a.Is4() {
			return netip.Addr{}, false
		}
		return a, true
	}
	rest, ok := strings.CutSuffix(name, ".ip6.arpa")
	if !ok {
		return netip.Addr{}, false
	}
	nibbles := strings.Split(rest, ".")
	if len(nibbles) != 32 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i, n := range nibbles {
		if len(n) != 1 {
			return netip.Addr{}, false
		}
		v := strings.IndexByte("0123456789abcdef", n[0])
		if v < 0 {
			return netip.Addr{}, false
		}
		// nibbles[0] is the lowest nibble of the last byte.
		pos := 31 - i
		if pos%2 == 0 {
			b[pos/2] |= byte(v) << 4
		} else {
			b[pos/2] |= byte(v)
		}
	}
	return netip.AddrFrom16(b), true
}

// forward asks the upstream servers in turn; SERVFAIL when none answers.
func (s *Server) forward(req *mdns.Msg, tcp bool) *mdns.Msg {
	fail := new(mdns.Msg).SetRcode(req, mdns.RcodeServerFailure)
	fail.RecursionAvailable = true
	select {
	case s.forwards <- struct{}{}:
		defer func() { <-s.forwards }()
	default:
		return fail
	}
	for _, up := range s.upstream {
		resp := exchange(req, up, tcp)
		if resp == nil {
			continue
		}
		resp.Id = req.Id
		return resp
	}
	return fail
}

// exchange asks one upstream, over UDP first unless tcp, then over TCP if
// the UDP answer was truncated.
func exchange(req *mdns.Msg, up netip.AddrPort, tcp bool) *mdns.Msg {
	nets := []string{"udp", "tcp"}
	if tcp {
		nets = nets[1:]
	}
	var last *mdns.Msg
	for _, n := range nets {
		c := &mdns.Client{Net: n, Timeout: forwardTimeout}
		if n == "udp" {
			c.UDPSize = mdns.DefaultMsgSize
		}
		resp, _, err := c.Exchange(req.Copy(), up.String())
		if err != nil {
			return last
		}
		if !resp.Truncated {
			return resp
		}
		last = resp
	}
	return last
}

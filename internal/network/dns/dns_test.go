package dns

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

type fakeResolver struct {
	names map[string][]netip.Addr
	addrs map[netip.Addr][]string
}

func (f *fakeResolver) LookupName(name string) ([]netip.Addr, bool) {
	a, ok := f.names[name]
	return a, ok
}

func (f *fakeResolver) LookupAddr(ip netip.Addr) ([]string, bool) {
	n, ok := f.addrs[ip]
	return n, ok
}

func newFake() *fakeResolver {
	web := netip.MustParseAddr("172.20.0.2")
	return &fakeResolver{
		names: map[string][]netip.Addr{
			"web":          {web},
			"www":          {web}, // an alias
			"0123456789ab": {web}, // an ID prefix
			"db":           {netip.MustParseAddr("172.20.0.3"), netip.MustParseAddr("172.21.0.3")},
			"dual":         {netip.MustParseAddr("172.20.0.9"), netip.MustParseAddr("fd00::9")},
		},
		addrs: map[netip.Addr][]string{web: {"web.mynet"}, netip.MustParseAddr("fd00::9"): {"dual.mynet"}},
	}
}

func testServer(r Resolver, upstream ...netip.AddrPort) *Server {
	return &Server{r: r, upstream: upstream, forwards: make(chan struct{}, maxForwards)}
}

func query(name string, t uint16) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetQuestion(name, t)
	return m
}

// upstreamServer is a resolver of our own on 127.0.0.1 (UDP and TCP on one
// port) that knows outside.test and big.test (too big for 512-byte UDP).
func upstreamServer(t *testing.T) netip.AddrPort {
	t.Helper()
	var pc net.PacketConn
	var l net.Listener
	for i := 0; ; i++ {
		var err error
		pc, err = net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err = net.Listen("tcp4", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if i > 20 {
			t.Fatal(err)
		}
	}
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
		resp := new(mdns.Msg)
		resp.SetReply(req)
		q := req.Question[0]
		switch strings.ToLower(q.Name) {
		case "outside.test.":
			resp.Answer = append(resp.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 30}, A: net.IPv4(192, 0, 2, 7)})
		case "big.test.":
			for i := 0; i < 40; i++ {
				resp.Answer = append(resp.Answer, &mdns.TXT{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 30}, Txt: []string{strings.Repeat("x", 60)}})
			}
			if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
				resp.Truncate(512)
			}
		default:
			resp.Rcode = mdns.RcodeNameError
		}
		w.WriteMsg(resp)
	})
	us := &mdns.Server{PacketConn: pc, Handler: h}
	ts := &mdns.Server{Listener: l, Handler: h}
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	t.Cleanup(func() { us.Shutdown(); ts.Shutdown() })
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

func TestAnswerOwnNames(t *testing.T) {
	s := testServer(newFake())
	for _, tc := range []struct {
		name  string
		qtype uint16
		want  []string // answers' values
	}{
		{"web.", mdns.TypeA, []string{"172.20.0.2"}},
		{"WeB.", mdns.TypeA, []string{"172.20.0.2"}},
		{"www.", mdns.TypeA, []string{"172.20.0.2"}},
		{"0123456789ab.", mdns.TypeA, []string{"172.20.0.2"}},
		{"db.", mdns.TypeA, []string{"172.20.0.3", "172.21.0.3"}},
		{"web.", mdns.TypeAAAA, nil},
		{"web.", mdns.TypeMX, nil},
		{"2.0.20.172.in-addr.arpa.", mdns.TypePTR, []string{"web.mynet."}},
		{"dual.", mdns.TypeA, []string{"172.20.0.9"}},
		{"dual.", mdns.TypeAAAA, []string{"fd00::9"}},
		{"9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", mdns.TypePTR, []string{"dual.mynet."}},
	} {
		t.Run(tc.name+mdns.TypeToString[tc.qtype], func(t *testing.T) {
			req := query(tc.name, tc.qtype)
			resp := s.answer(req, false)
			if resp == nil || resp.Rcode != mdns.RcodeSuccess || resp.Id != req.Id || !resp.Response {
				t.Fatalf("answer = %v", resp)
			}
			var got []string
			for _, rr := range resp.Answer {
				if rr.Header().Ttl != 600 {
					t.Errorf("ttl %d", rr.Header().Ttl)
				}
				if rr.Header().Name != tc.name {
					t.Errorf("answer for %q, asked %q", rr.Header().Name, tc.name)
				}
				switch v := rr.(type) {
				case *mdns.A:
					got = append(got, v.A.String())
				case *mdns.AAAA:
					got = append(got, v.AAAA.String())
				case *mdns.PTR:
					got = append(got, v.Ptr)
				default:
					got = append(got, rr.String())
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("answers %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAnswerBadRequests(t *testing.T) {
	s := testServer(newFake())
	req := query("web.", mdns.TypeA)
	req.Opcode = mdns.OpcodeUpdate
	if resp := s.answer(req, false); resp.Rcode != mdns.RcodeNotImplemented {
		t.Errorf("update: rcode %d", resp.Rcode)
	}
	req = query("web.", mdns.TypeA)
	req.Question = append(req.Question, req.Question[0])
	if resp := s.answer(req, false); resp.Rcode != mdns.RcodeFormatError {
		t.Errorf("two questions: rcode %d", resp.Rcode)
	}
	req = query("web.", mdns.TypeA)
	req.Question = nil
	if resp := s.answer(req, false); resp.Rcode != mdns.RcodeFormatError {
		t.Errorf("no question: rcode %d", resp.Rcode)
	}
	req = query("web.", mdns.TypeA)
	req.Response = true
	if resp := s.answer(req, false); resp != nil {
		t.Errorf("a response was answered: %v", resp)
	}
}

func TestForward(t *testing.T) {
	up := upstreamServer(t)
	// A dead upstream first: the next one answers.
	dead := netip.MustParseAddrPort("127.0.0.1:9")
	s := testServer(newFake(), dead, up)
	for _, tcp := range []bool{false, true} {
		resp := s.answer(query("outside.test.", mdns.TypeA), tcp)
		if resp.Rcode != mdns.RcodeSuccess || len(resp.Answer) != 1 || resp.Answer[0].(*mdns.A).A.String() != "192.0.2.7" {
			t.Errorf("tcp=%v: forwarded answer %v", tcp, resp)
		}
		resp = s.answer(query("nowhere.test.", mdns.TypeA), tcp)
		if resp.Rcode != mdns.RcodeNameError {
			t.Errorf("tcp=%v: NXDOMAIN not passed on: %v", tcp, resp)
		}
	}
	// A truncated UDP answer is asked again over TCP.
	resp := s.answer(query("big.test.", mdns.TypeTXT), false)
	if resp.Truncated || len(resp.Answer) != 40 {
		t.Errorf("big answer: truncated=%v, %d records", resp.Truncated, len(resp.Answer))
	}
	// Unknown names never reach berth's own: a name the resolver does not
	// know with a known name's type goes out.
	resp = s.answer(query("web.example.", mdns.TypeA), false)
	if resp.Rcode != mdns.RcodeNameError {
		t.Errorf("web.example: %v", resp)
	}
	// No upstream answers: SERVFAIL.
	for _, s := range []*Server{testServer(newFake()), testServer(newFake(), dead)} {
		req := query("outside.test.", mdns.TypeA)
		resp := s.answer(req, false)
		if resp.Rcode != mdns.RcodeServerFailure || resp.Id != req.Id {
			t.Errorf("no upstream: %v", resp)
		}
	}
}

func TestPTRAddr(t *testing.T) {
	for in, want := range map[string]string{
		"4.3.2.1.in-addr.arpa":   "1.2.3.4",
		"4.3.2.in-addr.arpa":     "",
		"x.3.2.1.in-addr.arpa":   "",
		"4.3.2.1.ip6.arpa":       "",
		"256.3.2.1.in-addr.arpa": "",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa": "fd00::1",
		"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa": "4321:0:1:2:3:4:567:89ab",
		"1.0.ip6.arpa": "",
		"x.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa": "",
		"10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa":  "",
	} {
		a, ok := ptrAddr(in)
		if (want == "") == ok || (ok && a.String() != want) {
			t.Errorf("ptrAddr(%q) = %v %v", in, a, ok)
		}
	}
}

// The request handling never panics and always packs, whatever arrives.
func FuzzAnswer(f *testing.F) {
	for _, q := range []*mdns.Msg{query("web.", mdns.TypeA), query("2.0.20.172.in-addr.arpa.", mdns.TypePTR), query(".", mdns.TypeANY),
		query("9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", mdns.TypePTR), query("dual.", mdns.TypeAAAA)} {
		b, _ := q.Pack()
		f.Add(b)
	}
	s := testServer(newFake()) // no upstream: forwards fail at once
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(mdns.Msg)
		if err := req.Unpack(data); err != nil {
			return
		}
		resp := s.answer(req, false)
		if resp == nil {
			return
		}
		resp.Truncate(512)
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("reply does not pack: %v", err)
		}
	})
}

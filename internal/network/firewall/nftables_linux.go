package firewall

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/network/netns"
)

// The chains of berth's nftables table. The base chains hook where
// iptables' built-in chains do; the others are jumped to.
const (
	nftForward     = "forward"     // filter, hook forward
	nftIsolation1  = "isolation-1" // regular
	nftIsolation2  = "isolation-2" // regular
	nftPublished   = "published"   // regular: accepts for published ports
	nftPrerouting  = "prerouting"  // nat, hook prerouting
	nftOutput      = "output"      // nat, hook output
	nftPostrouting = "postrouting" // nat, hook postrouting
	nftDNAT        = "dnat"        // regular: DNAT per published port
)

// nrule is one rule of berth's table. Rules are told apart by their tag,
// kept as the rule's comment (userdata), so that an added rule is found
// again after a restart and removed exactly.
type nrule struct {
	chain string
	tag   string
	exprs []expr.Any
}

type nft struct {
	netns string
	table *nftables.Table

	mu   sync.Mutex
	refs map[string]int // port rules shared between Ports, as in ipt
}

func newNFTables(ctx context.Context, opts Options) (Backend, error) {
	name := opts.Table
	if name == "" {
		name = "berth"
	}
	b := &nft{
		netns: opts.NetNS,
		table: &nftables.Table{Family: nftables.TableFamilyINet, Name: name},
		refs:  map[string]int{},
	}
	if err := b.do(func(c *nftables.Conn) error { return b.ensureBase(c) }); err != nil {
		return nil, fmt.Errorf("%w: %w", err, errdefs.ErrUnavailable)
	}
	return b, nil
}

func (b *nft) Name() string { return NFTables }

// do runs fn with a netlink connection to the backend's namespace.
func (b *nft) do(fn func(c *nftables.Conn) error) error {
	var opts []nftables.ConnOption
	if b.netns != "" {
		f, err := os.Open(b.netns)
		if err != nil {
			return fmt.Errorf("firewall: network namespace: %w", err)
		}
		defer f.Close()
		opts = append(opts, nftables.WithNetNSFd(int(f.Fd())))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return fmt.Errorf("firewall: nftables: %w", err)
	}
	return fn(c)
}

func (b *nft) chains() map[string]*nftables.Chain {
	accept := nftables.ChainPolicyAccept
	base := func(name string, t nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return &nftables.Chain{Name: name, Table: b.table, Type: t, Hooknum: hook, Priority: prio, Policy: &accept}
	}
	regular := func(name string) *nftables.Chain { return &nftables.Chain{Name: name, Table: b.table} }
	return map[string]*nftables.Chain{
		nftForward:     base(nftForward, nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter),
		nftIsolation1:  regular(nftIsolation1),
		nftIsolation2:  regular(nftIsolation2),
		nftPublished:   regular(nftPublished),
		nftPrerouting:  base(nftPrerouting, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest),
		nftOutput:      base(nftOutput, nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest),
		nftPostrouting: base(nftPostrouting, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource),
		nftDNAT:        regular(nftDNAT),
	}
}

// chainOrder is the order chains are made in: jump targets first.
var chainOrder = []string{nftIsolation2, nftIsolation1, nftPublished, nftDNAT, nftForward, nftPrerouting, nftOutput, nftPostrouting}

// Expression builders. Register 1 holds what is compared.

func ipv4Only() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
	}
}

func ipv6Only() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
	}
}

func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

func iif(op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

func oif(op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

// ipAddr matches the source (src) or destination address against prefix.
func ipAddr(src bool, op expr.CmpOp, prefix netip.Prefix) []expr.Any {
	off := uint32(16)
	if src {
		off = 12
	}
	prefix = prefix.Masked()
	mask := make([]byte, 4)
	for i := 0; i < prefix.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	addr := prefix.Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: addr[:]},
	}
}

func host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, 32) }

var protoNum = map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "sctp": unix.IPPROTO_SCTP}

// dport matches the layer-4 protocol and destination port (at the same
// offset in TCP, UDP and SCTP headers).
func dport(proto string, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{protoNum[proto]}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

func established() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func localDst() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

func accept() expr.Any       { return &expr.Verdict{Kind: expr.VerdictAccept} }
func drop() expr.Any         { return &expr.Verdict{Kind: expr.VerdictDrop} }
func jump(c string) expr.Any { return &expr.Verdict{Kind: expr.VerdictJump, Chain: c} }

func cat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(e expr.Any) []expr.Any { return []expr.Any{e} }

// ipsDstNAT is the kernel's IPS_DST_NAT conntrack status bit.
const ipsDstNAT = 1 << 5

// nftBaseRules are the rules of the table that exist whatever the networks.
func nftBaseRules() []nrule {
	loop := netip.MustParsePrefix("127.0.0.0/8")
	return []nrule{
		{nftForward, "base:isolation", one(jump(nftIsolation1))},
		// As in iptables' STAGE-2: connections DNATed to a published
		// port are not isolated.
		{nftIsolation2, "base:dnat-ok", []expr.Any{
			&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			&expr.Verdict{Kind: expr.VerdictReturn},
		}},
		{nftPrerouting, "base:dnat", cat(localDst(), one(jump(nftDNAT)))},
		{nftOutput, "base:dnat", cat(ipv4Only(), ipAddr(false, expr.CmpOpNeq, loop), localDst(), one(jump(nftDNAT)))},
	}
}

// nftNetworkRules are the rules of network n; every tag starts with
// "net:BRIDGE:".
func nftNetworkRules(n Network) []nrule {
	br, sub := n.Bridge, n.Subnet.Masked()
	p := "net:" + br + ":"
	rs := []nrule{
		{nftForward, p + "established", cat(oif(expr.CmpOpEq, br), established(), one(accept()))},
		{nftForward, p + "published", cat(oif(expr.CmpOpEq, br), one(jump(nftPublished)))},
		{nftForward, p + "inbound-drop", cat(iif(expr.CmpOpNeq, br), oif(expr.CmpOpEq, br), one(drop()))},
	}
	if !n.Internal {
		rs = append(rs, nrule{nftForward, p + "out", cat(iif(expr.CmpOpEq, br), oif(expr.CmpOpNeq, br), one(accept()))})
	}
	if n.ICC {
		rs = append(rs, nrule{nftForward, p + "icc-accept", cat(iif(expr.CmpOpEq, br), oif(expr.CmpOpEq, br), one(accept()))})
	} else {
		rs = append(rs, nrule{nftForward, p + "icc-drop", cat(iif(expr.CmpOpEq, br), oif(expr.CmpOpEq, br), one(drop()))})
	}
	if n.Internal {
		rs = append(rs,
			nrule{nftIsolation1, p + "internal-in:" + sub.String(), cat(ipv4Only(), iif(expr.CmpOpEq, br), ipAddr(false, expr.CmpOpNeq, sub), one(drop()))},
			nrule{nftIsolation1, p + "internal-out:" + sub.String(), cat(ipv4Only(), oif(expr.CmpOpEq, br), ipAddr(true, expr.CmpOpNeq, sub), one(drop()))},
			// The table is inet: IPv6 leaving or entering an internal
			// bridge is dropped too (berth knows only its IPv4 subnet).
			nrule{nftIsolation1, p + "internal-in6", cat(ipv6Only(), iif(expr.CmpOpEq, br), oif(expr.CmpOpNeq, br), one(drop()))},
			nrule{nftIsolation1, p + "internal-out6", cat(ipv6Only(), oif(expr.CmpOpEq, br), iif(expr.CmpOpNeq, br), one(drop()))})
	} else {
		rs = append(rs, nrule{nftIsolation1, p + "isolation", cat(iif(expr.CmpOpEq, br), oif(expr.CmpOpNeq, br), one(jump(nftIsolation2)))})
	}
	rs = append(rs, nrule{nftIsolation2, p + "drop", cat(oif(expr.CmpOpEq, br), one(drop()))})
	if n.Masquerade && !n.Internal {
		rs = append(rs, nrule{nftPostrouting, p + "masquerade:" + sub.String(), cat(ipv4Only(), ipAddr(true, expr.CmpOpEq, sub), oif(expr.CmpOpNeq, br), one(&expr.Masq{}))})
	}
	return rs
}

// nftPortRules are the rules of port p (none on a loopback address, as
// in portRules).
func nftPortRules(p Port) []nrule {
	if p.HostIP.IsLoopback() {
		return nil
	}
	hostIP := "0.0.0.0"
	if !p.anyHost() {
		hostIP = p.HostIP.String()
	}
	cip := p.ContainerIP.As4()
	dn := ipv4Only()
	if !p.anyHost() {
		dn = append(dn, ipAddr(false, expr.CmpOpEq, host(p.HostIP))...)
	}
	if !p.Hairpin {
		dn = append(dn, iif(expr.CmpOpNeq, p.Bridge)...)
	}
	dn = append(dn, dport(p.Proto, p.HostPort)...)
	dn = append(dn,
		&expr.Immediate{Register: 1, Data: cip[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true})
	c := fmt.Sprintf("%s:%s:%d", p.Proto, p.ContainerIP, p.ContainerPort)
	return []nrule{
		{nftDNAT, fmt.Sprintf("port:dnat:%s:%s:%d:%s:%s:%t", p.Proto, hostIP, p.HostPort, c, p.Bridge, p.Hairpin), dn},
		{nftPublished, "port:accept:" + c + ":" + p.Bridge, cat(ipv4Only(), ipAddr(false, expr.CmpOpEq, host(p.ContainerIP)), iif(expr.CmpOpNeq, p.Bridge), oif(expr.CmpOpEq, p.Bridge), dport(p.Proto, p.ContainerPort), one(accept()))},
		{nftPostrouting, "port:hairpin:" + c, cat(ipv4Only(), ipAddr(true, expr.CmpOpEq, host(p.ContainerIP)), ipAddr(false, expr.CmpOpEq, host(p.ContainerIP)), dport(p.Proto, p.ContainerPort), one(&expr.Masq{}))},
	}
}

func tagOf(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
}

// existing lists the rules of the named chains (all of berth's when none
// is named) by tag.
func (b *nft) existing(c *nftables.Conn, only ...string) (map[string]map[string][]*nftables.Rule, error) {
	out := map[string]map[string][]*nftables.Rule{}
	all := b.chains()
	if len(only) == 0 {
		only = chainOrder
	}
	for _, name := range only {
		ch := all[name]
		rules, err := c.GetRules(b.table, ch)
		if err != nil {
			return nil, sysErr(fmt.Errorf("list chain %s: %w", name, err))
		}
		m := map[string][]*nftables.Rule{}
		for _, r := range rules {
			m[tagOf(r)] = append(m[tagOf(r)], r)
		}
		out[name] = m
	}
	return out, nil
}

// ensureBase creates the table, its chains and base rules where missing.
func (b *nft) ensureBase(c *nftables.Conn) error {
	c.AddTable(b.table)
	chains := b.chains()
	for _, name := range chainOrder {
		c.AddChain(chains[name])
	}
	if err := c.Flush(); err != nil {
		return sysErr(fmt.Errorf("nftables table %s: %w", b.table.Name, err))
	}
	return b.add(c, nftBaseRules())
}

// chainsOf lists the chains rs are in.
func chainsOf(rs []nrule) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !seen[r.chain] {
			seen[r.chain] = true
			out = append(out, r.chain)
		}
	}
	return out
}

// add adds the rules of rs that are not there yet.
func (b *nft) add(c *nftables.Conn, rs []nrule) error {
	have, err := b.existing(c, chainsOf(rs)...)
	if err != nil {
		return err
	}
	chains := b.chains()
	n := 0
	for _, r := range rs {
		if len(have[r.chain][r.tag]) > 0 {
			continue
		}
		c.AddRule(&nftables.Rule{
			Table: b.table, Chain: chains[r.chain], Exprs: r.exprs,
			UserData: userdata.AppendString(nil, userdata.TypeComment, r.tag),
		})
		n++
	}
	if n == 0 {
		return nil
	}
	return sysErr(c.Flush())
}

// del deletes the rules that match selects, in the named chains (all of
// berth's when none is named).
func (b *nft) del(c *nftables.Conn, match func(chain, tag string) bool, chains ...string) error {
	have, err := b.existing(c, chains...)
	if err != nil {
		return err
	}
	n := 0
	for chain, tags := range have {
		for tag, rules := range tags {
			if !match(chain, tag) {
				continue
			}
			for _, r := range rules {
				if err := c.DelRule(r); err != nil {
					return sysErr(err)
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	return sysErr(c.Flush())
}

func (b *nft) AddNetwork(ctx context.Context, n Network) error {
	if err := n.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !n.ICC {
		if err := netns.Do(b.netns, enableBridgeNF); err != nil {
			return sysErr(err)
		}
	}
	return b.do(func(c *nftables.Conn) error {
		if err := b.ensureBase(c); err != nil {
			return err
		}
		rs := nftNetworkRules(n)
		want := map[string]bool{}
		for _, r := range rs {
			want[r.chain+" "+r.tag] = true
		}
		// Rules of the same bridge made with other flags go first.
		prefix := "net:" + n.Bridge + ":"
		if err := b.del(c, func(chain, tag string) bool {
			return strings.HasPrefix(tag, prefix) && !want[chain+" "+tag]
		}); err != nil {
			return err
		}
		return b.add(c, rs)
	})
}

func (b *nft) RemoveNetwork(ctx context.Context, n Network) error {
	if err := n.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.do(func(c *nftables.Conn) error {
		if ok, err := b.tableExists(c); err != nil || !ok {
			return err
		}
		prefix := "net:" + n.Bridge + ":"
		return b.del(c, func(_, tag string) bool { return strings.HasPrefix(tag, prefix) })
	})
}

func (b *nft) AddPort(ctx context.Context, p Port) error {
	if err := p.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.do(func(c *nftables.Conn) error {
		rs := nftPortRules(p)
		if err := b.add(c, rs); err != nil {
			// The table gone (deleted by hand)? Make it again, once.
			if berr := b.ensureBase(c); berr != nil {
				return berr
			}
			if err := b.add(c, rs); err != nil {
				return err
			}
		}
		for _, r := range rs {
			b.refs[r.chain+" "+r.tag]++
		}
		return nil
	})
}

func (b *nft) RemovePort(ctx context.Context, p Port) error {
	if err := p.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.do(func(c *nftables.Conn) error {
		rs := nftPortRules(p)
		gone := map[string]bool{}
		for _, r := range rs {
			k := r.chain + " " + r.tag
			if b.refs[k] > 1 {
				b.refs[k]--
				continue
			}
			delete(b.refs, k)
			gone[k] = true
		}
		if len(gone) == 0 {
			return nil
		}
		err := b.del(c, func(chain, tag string) bool { return gone[chain+" "+tag] }, chainsOf(rs)...)
		if err != nil {
			// Nothing to remove from a table that is gone.
			if ok, terr := b.tableExists(c); terr == nil && !ok {
				return nil
			}
		}
		return err
	})
}

func (b *nft) tableExists(c *nftables.Conn) (bool, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, sysErr(err)
	}
	for _, t := range tables {
		if t.Name == b.table.Name {
			return true, nil
		}
	}
	return false, nil
}

func (b *nft) Close(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.do(func(c *nftables.Conn) error {
		if ok, err := b.tableExists(c); err != nil || !ok {
			return err
		}
		have, err := b.existing(c)
		if err != nil {
			return err
		}
		for _, tags := range have {
			for tag := range tags {
				if !strings.HasPrefix(tag, "base:") {
					return nil // berth's rules are still in use
				}
			}
		}
		c.DelTable(b.table)
		return sysErr(c.Flush())
	})
}

package firewall

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/coreos/go-iptables/iptables"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/network/netns"
)

// berth's iptables chains.
const (
	chainBerth       = "BERTH"         // filter: accepts for published ports; nat: DNATs
	chainForward     = "BERTH-FORWARD" // filter: hooked from FORWARD
	chainUser        = "BERTH-USER"    // filter: the administrator's, consulted first; berth never fills it
	chainIsolation1  = "BERTH-ISOLATION-STAGE-1"
	chainIsolation2  = "BERTH-ISOLATION-STAGE-2"
	chainPostrouting = "BERTH-POSTROUTING" // nat: hooked from POSTROUTING
)

// rule is one iptables rule: table, chain and its rulespec.
type rule struct {
	table, chain string
	spec         []string
}

func (r rule) key() string { return r.table + " " + r.chain + " " + strings.Join(r.spec, " ") }

// baseChains are created by New, in this order, and deleted by Close in the
// reverse order.
var baseChains = []rule{
	{table: "filter", chain: chainUser},
	{table: "filter", chain: chainIsolation2},
	{table: "filter", chain: chainIsolation1},
	{table: "filter", chain: chainBerth},
	{table: "filter", chain: chainForward},
	{table: "nat", chain: chainBerth},
	{table: "nat", chain: chainPostrouting},
}

// fixedRules are berth's rules inside its own base chains, each at its
// position (1-based) in its chain. The one in STAGE-2 lets connections
// DNATed to a published port through: a published port is reachable from
// containers on other berth networks by way of a host address, as from
// anywhere else, while their direct traffic stays isolated.
var fixedRules = []struct {
	rule
	pos int
}{
	{rule{"filter", chainForward, []string{"-j", chainUser}}, 1},
	{rule{"filter", chainForward, []string{"-j", chainIsolation1}}, 2},
	{rule{"filter", chainIsolation2, []string{"-m", "conntrack", "--ctstate", "DNAT", "-j", "RETURN"}}, 1},
}

// jumps hook berth's chains into the built-in ones. FORWARD's is inserted at
// the top (see doc.go); the nat ones are appended.
var jumps = []struct {
	rule
	insert bool
}{
	{rule{"filter", "FORWARD", []string{"-j", chainForward}}, true},
	{rule{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", chainBerth}}, false},
	{rule{"nat", "OUTPUT", []string{"!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", "-j", chainBerth}}, false},
	{rule{"nat", "POSTROUTING", []string{"-j", chainPostrouting}}, false},
}

type ipt struct {
	netns string
	ipt   *iptables.IPTables
	// ipt6 is ip6tables of the same flavour, nil where there is none: it
	// gets the interface rules of each network (isolation, ICC, the
	// inbound drop, --internal) so IPv6 between bridges is filtered as
	// IPv4 is; addresses, NAT and ports are IPv4 only.
	ipt6    *iptables.IPTables
	restore string // the matching iptables-restore, "" if there is none

	mu sync.Mutex
	// refs counts the Ports using each port rule: two ports can share the
	// filter accept and hairpin masquerade (one container port published
	// on two host ports), which stay until the last is removed.
	refs map[string]int
}

func newIPTables(ctx context.Context, opts Options) (Backend, error) {
	b := &ipt{netns: opts.NetNS, refs: map[string]int{}}
	err := netns.Do(b.netns, func() error {
		bin := opts.IPTables
		if bin == "" {
			bin = "iptables"
		}
		path, err := exec.LookPath(bin)
		if err != nil {
			return fmt.Errorf("firewall: iptables: %v: %w", err, errdefs.ErrUnavailable)
		}
		// iptables-restore of the same flavour applies several rules in
		// one run (each run of the binary costs milliseconds).
		if r, err := exec.LookPath(path + "-restore"); err == nil {
			b.restore = r
		}
		t, err := iptables.New(iptables.IPFamily(iptables.ProtocolIPv4), iptables.Timeout(10), iptables.Path(path))
		if err != nil {
			return fmt.Errorf("firewall: iptables: %v: %w", err, errdefs.ErrUnavailable)
		}
		b.ipt = t
		if err := b.ensureBase(); err != nil {
			return err
		}
		if p6, err := exec.LookPath(strings.Replace(path, "iptables", "ip6tables", 1)); err == nil {
			if t6, err := iptables.New(iptables.IPFamily(iptables.ProtocolIPv6), iptables.Timeout(10), iptables.Path(p6)); err == nil {
				if err := ensureBaseOn(t6, true); err == nil {
					b.ipt6 = t6
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (b *ipt) Name() string { return IPTables }

func sysErr(err error) error {
	if err == nil || errors.Is(err, errdefs.ErrSystem) || errors.Is(err, errdefs.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("firewall: %w: %w", err, errdefs.ErrSystem)
}

// ensureBase is ensureBaseOn for IPv4.
func (b *ipt) ensureBase() error { return ensureBaseOn(b.ipt, false) }

// ensureBaseOn creates berth's chains, the rules fixed in them and the jumps
// to them, each only if missing (another berthd, or the previous run, may
// have made them). For IPv6 (v6) only the filter table's.
func ensureBaseOn(t *iptables.IPTables, v6 bool) error {
	for _, c := range baseChains {
		if v6 && c.table != "filter" {
			continue
		}
		ok, err := t.ChainExists(c.table, c.chain)
		if err != nil {
			return sysErr(err)
		}
		if !ok {
			if err := t.NewChain(c.table, c.chain); err != nil {
				// Made meanwhile by someone else?
				if ok, _ := t.ChainExists(c.table, c.chain); !ok {
					return sysErr(err)
				}
			}
		}
	}
	for _, r := range fixedRules {
		if err := t.InsertUnique(r.table, r.chain, r.pos, r.spec...); err != nil {
			return sysErr(err)
		}
	}
	for _, j := range jumps {
		if v6 && j.table != "filter" {
			continue
		}
		var err error
		if j.insert {
			err = t.InsertUnique(j.table, j.chain, 1, j.spec...)
		} else {
			err = t.AppendUnique(j.table, j.chain, j.spec...)
		}
		if err != nil {
			return sysErr(err)
		}
	}
	return nil
}

// networkRules are the rules AddNetwork installs for n, in order.
func networkRules(n Network) []rule {
	br, sub := n.Bridge, n.Subnet.Masked().String()
	rs := []rule{
		{"filter", chainForward, []string{"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}},
		{"filter", chainForward, []string{"-o", br, "-j", chainBerth}},
		// Nothing else from outside the bridge reaches its containers,
		// whatever FORWARD's policy: only replies and published ports
		// (docker 28 does the same).
		{"filter", chainForward, []string{"!", "-i", br, "-o", br, "-j", "DROP"}},
	}
	if !n.Internal {
		rs = append(rs, rule{"filter", chainForward, []string{"-i", br, "!", "-o", br, "-j", "ACCEPT"}})
	}
	icc := "DROP"
	if n.ICC {
		icc = "ACCEPT"
	}
	rs = append(rs, rule{"filter", chainForward, []string{"-i", br, "-o", br, "-j", icc}})
	if n.Internal {
		rs = append(rs,
			rule{"filter", chainIsolation1, []string{"-i", br, "!", "-d", sub, "-j", "DROP"}},
			rule{"filter", chainIsolation1, []string{"-o", br, "!", "-s", sub, "-j", "DROP"}})
	} else {
		rs = append(rs, rule{"filter", chainIsolation1, []string{"-i", br, "!", "-o", br, "-j", chainIsolation2}})
	}
	rs = append(rs, rule{"filter", chainIsolation2, []string{"-o", br, "-j", "DROP"}})
	if n.Masquerade && !n.Internal {
		rs = append(rs, rule{"nat", chainPostrouting, []string{"-s", sub, "!", "-o", br, "-j", "MASQUERADE"}})
	}
	return rs
}

// networkRules6 are the IPv6 rules AddNetwork installs for n: the interface
// rules of networkRules, with --internal's drops by interface (berth knows
// only the IPv4 subnet) and no NAT.
func networkRules6(n Network) []rule {
	br := n.Bridge
	var rs []rule
	for _, r := range networkRules(n) {
		if r.table == "filter" && r.chain != chainIsolation1 {
			rs = append(rs, r)
		}
	}
	if n.Internal {
		rs = append(rs,
			rule{"filter", chainIsolation1, []string{"-i", br, "!", "-o", br, "-j", "DROP"}},
			rule{"filter", chainIsolation1, []string{"-o", br, "!", "-i", br, "-j", "DROP"}})
	} else {
		rs = append(rs, rule{"filter", chainIsolation1, []string{"-i", br, "!", "-o", br, "-j", chainIsolation2}})
	}
	return rs
}

// allNetworkRules6 is allNetworkRules for IPv6.
func allNetworkRules6(n Network) []rule {
	var rs []rule
	seen := map[string]bool{}
	for _, internal := range []bool{false, true} {
		for _, icc := range []bool{false, true} {
			m := n
			m.Internal, m.ICC = internal, icc
			for _, r := range networkRules6(m) {
				if !seen[r.key()] {
					seen[r.key()] = true
					rs = append(rs, r)
				}
			}
		}
	}
	return rs
}

// allNetworkRules lists every rule AddNetwork may have made for the bridge
// and subnet of n, whatever its flags were then, so that RemoveNetwork
// removes them even when called with flags that differ from the add.
func allNetworkRules(n Network) []rule {
	var rs []rule
	seen := map[string]bool{}
	for _, internal := range []bool{false, true} {
		for _, icc := range []bool{false, true} {
			m := n
			m.Internal, m.ICC, m.Masquerade = internal, icc, true
			for _, r := range networkRules(m) {
				if !seen[r.key()] {
					seen[r.key()] = true
					rs = append(rs, r)
				}
			}
		}
	}
	return rs
}

// portRules are the rules AddPort installs for p. A port published on a
// loopback address gets none: no packet from elsewhere may reach it (DNAT
// to 127.0.0.1 from outside would be martian anyway), and the host's own
// connections go through the proxy, not FORWARD.
func portRules(p Port) []rule {
	if p.HostIP.IsLoopback() {
		return nil
	}
	cip, cp, hp := p.ContainerIP.String(), strconv.Itoa(int(p.ContainerPort)), strconv.Itoa(int(p.HostPort))
	dnat := []string{"-p", p.Proto}
	if !p.anyHost() {
		dnat = append(dnat, "-d", p.HostIP.String()+"/32")
	}
	if !p.Hairpin {
		dnat = append(dnat, "!", "-i", p.Bridge)
	}
	dnat = append(dnat, "-m", p.Proto, "--dport", hp, "-j", "DNAT", "--to-destination", cip+":"+cp)
	return []rule{
		{"nat", chainBerth, dnat},
		{"filter", chainBerth, []string{"-d", cip + "/32", "!", "-i", p.Bridge, "-o", p.Bridge, "-p", p.Proto, "-m", p.Proto, "--dport", cp, "-j", "ACCEPT"}},
		{"nat", chainPostrouting, []string{"-s", cip + "/32", "-d", cip + "/32", "-p", p.Proto, "-m", p.Proto, "--dport", cp, "-j", "MASQUERADE"}},
	}
}

func (b *ipt) AddNetwork(ctx context.Context, n Network) error {
	if err := n.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return netns.Do(b.netns, func() error {
		if !n.ICC {
			if err := enableBridgeNF(); err != nil {
				return sysErr(err)
			}
		}
		if err := b.ensureBase(); err != nil {
			return err
		}
		if err := setRules(b.ipt, networkRules(n), allNetworkRules(n)); err != nil {
			return err
		}
		if b.ipt6 == nil {
			return nil
		}
		if err := ensureBaseOn(b.ipt6, true); err != nil {
			return err
		}
		return setRules(b.ipt6, networkRules6(n), allNetworkRules6(n))
	})
}

// setRules makes want the rules of a network among all its variants: a
// network re-added with other flags (after a restart) loses the rules of
// its old flags first.
func setRules(t *iptables.IPTables, want, all []rule) error {
	wanted := map[string]bool{}
	for _, r := range want {
		wanted[r.key()] = true
	}
	for _, r := range all {
		if !wanted[r.key()] {
			if err := deleteOn(t, r); err != nil {
				return err
			}
		}
	}
	for _, r := range want {
		if err := t.AppendUnique(r.table, r.chain, r.spec...); err != nil {
			return sysErr(err)
		}
	}
	return nil
}

func (b *ipt) RemoveNetwork(ctx context.Context, n Network) error {
	if err := n.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return netns.Do(b.netns, func() error {
		for _, r := range allNetworkRules(n) {
			if err := b.deleteIfExists(r); err != nil {
				return err
			}
		}
		if b.ipt6 != nil {
			for _, r := range allNetworkRules6(n) {
				if err := deleteOn(b.ipt6, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// deleteIfExists deletes r, tolerating a rule or chain that is gone. It
// runs one iptables -D: publishing is on the path of docker run, and each
// run of the binary costs milliseconds.
func (b *ipt) deleteIfExists(r rule) error { return deleteOn(b.ipt, r) }

// deleteOn is deleteIfExists through t.
func deleteOn(t *iptables.IPTables, r rule) error {
	err := t.Delete(r.table, r.chain, r.spec...)
	if notExist(err) {
		return nil
	}
	return sysErr(err)
}

// notExist reports whether err is iptables saying the rule or chain is not
// there (exit status 1, or its "No chain/target/match" words).
func notExist(err error) bool {
	var e *iptables.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.IsNotExist() || e.ExitStatus() == 1
}

func (b *ipt) AddPort(ctx context.Context, p Port) error {
	if err := p.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return netns.Do(b.netns, func() error {
		rs := portRules(p)
		var missing []rule
		rebuilt := false
		for _, r := range rs {
			if b.refs[r.key()] > 0 {
				continue // ours, shared with another port
			}
			ok, err := b.ipt.Exists(r.table, r.chain, r.spec...)
			if err != nil && !rebuilt {
				// berth's chains gone (deleted by hand)? Make them
				// again, once.
				rebuilt = true
				if berr := b.ensureBase(); berr != nil {
					return berr
				}
				ok, err = b.ipt.Exists(r.table, r.chain, r.spec...)
			}
			if err != nil {
				return sysErr(err)
			}
			if !ok {
				missing = append(missing, r)
			}
		}
		err := b.apply("-A", missing)
		if err != nil && !rebuilt {
			// iptables -C says "no" for a rule in a missing chain:
			// the chains may be what is missing.
			if berr := b.ensureBase(); berr != nil {
				return berr
			}
			err = b.apply("-A", missing)
		}
		if err != nil {
			return err
		}
		for _, r := range rs {
			b.refs[r.key()]++
		}
		return nil
	})
}

func (b *ipt) RemovePort(ctx context.Context, p Port) error {
	if err := p.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return netns.Do(b.netns, func() error {
		var gone []rule
		for _, r := range portRules(p) {
			k := r.key()
			if b.refs[k] > 1 {
				b.refs[k]--
				continue
			}
			delete(b.refs, k)
			gone = append(gone, r)
		}
		// One iptables-restore deletes them all when they are all there
		// (the usual case); otherwise each is deleted if present.
		if len(gone) > 1 && b.restore != "" && b.restoreRun("-D", gone) == nil {
			return nil
		}
		for _, r := range gone {
			if err := b.deleteIfExists(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// apply runs op (-A or -D) for rs, all or none: in one iptables-restore
// transaction when there is one, else rule by rule, undoing on failure.
func (b *ipt) apply(op string, rs []rule) error {
	if len(rs) == 0 {
		return nil
	}
	if len(rs) > 1 && b.restore != "" {
		err := b.restoreRun(op, rs)
		if err != nil && op == "-A" {
			// iptables-legacy commits table by table: take back what
			// a partial run added.
			for _, r := range rs {
				_ = b.deleteIfExists(r)
			}
		}
		return err
	}
	for i, r := range rs {
		var err error
		if op == "-A" {
			err = b.ipt.Append(r.table, r.chain, r.spec...)
		} else {
			err = b.ipt.Delete(r.table, r.chain, r.spec...)
		}
		if err != nil {
			if op == "-A" {
				for _, u := range rs[:i] {
					_ = b.ipt.Delete(u.table, u.chain, u.spec...)
				}
			}
			return sysErr(err)
		}
	}
	return nil
}

// restoreRun applies op for rs with one iptables-restore --noflush, which
// commits each table's changes atomically.
func (b *ipt) restoreRun(op string, rs []rule) error {
	var in strings.Builder
	for _, table := range []string{"nat", "filter"} {
		n := 0
		for _, r := range rs {
			if r.table != table {
				continue
			}
			if n == 0 {
				fmt.Fprintf(&in, "*%s\n", table)
			}
			n++
			fmt.Fprintf(&in, "%s %s %s\n", op, r.chain, strings.Join(r.spec, " "))
		}
		if n > 0 {
			in.WriteString("COMMIT\n")
		}
	}
	cmd := exec.Command(b.restore, "--noflush", "--wait")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return sysErr(fmt.Errorf("%s: %v: %s", b.restore, err, strings.TrimSpace(string(out))))
	}
	return nil
}

func (b *ipt) Close(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return netns.Do(b.netns, func() error {
		if b.ipt6 != nil {
			if err := closeOn(b.ipt6, true); err != nil {
				return err
			}
		}
		return closeOn(b.ipt, false)
	})
}

// closeOn removes berth's jumps, fixed rules and chains through t (for
// IPv6 when v6) when baseEmpty says nothing else of berth's is in them.
func closeOn(t *iptables.IPTables, v6 bool) error {
	empty, err := baseEmpty(t)
	if err != nil || !empty {
		return err
	}
	for _, j := range jumps {
		if v6 && j.table != "filter" {
			continue
		}
		if err := deleteOn(t, j.rule); err != nil {
			return err
		}
	}
	for _, r := range fixedRules {
		if err := deleteOn(t, r.rule); err != nil {
			return err
		}
	}
	for i := len(baseChains) - 1; i >= 0; i-- {
		c := baseChains[i]
		ok, err := t.ChainExists(c.table, c.chain)
		if err != nil {
			return sysErr(err)
		}
		if ok {
			if err := t.DeleteChain(c.table, c.chain); err != nil {
				return sysErr(err)
			}
		}
	}
	return nil
}

// baseEmpty reports whether berth's chains hold nothing but the fixed rules
// (BERTH-USER, the administrator's, must be empty too).
func baseEmpty(t *iptables.IPTables) (bool, error) {
	fixed := map[string]int{}
	for _, r := range fixedRules {
		fixed[r.table+" "+r.chain]++
	}
	for _, c := range baseChains {
		ok, err := t.ChainExists(c.table, c.chain)
		if err != nil {
			return false, sysErr(err)
		}
		if !ok {
			continue
		}
		lines, err := t.List(c.table, c.chain)
		if err != nil {
			return false, sysErr(err)
		}
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, "-A ") {
				n++
			}
		}
		if n > fixed[c.table+" "+c.chain] {
			return false, nil
		}
	}
	return true, nil
}

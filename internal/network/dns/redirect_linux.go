package dns

import (
	"fmt"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// redirectTable is the nftables table (family ip) berth makes inside a
// container's namespace to send 127.0.0.11:53 to the server's ports.
const redirectTable = "berth-dns"

// redirect makes, inside the namespace at nsPath, the table that DNATs
// queries to 127.0.0.11:53 (UDP and TCP) to the ports the server listens
// on, so that port 53 stays free for the container's own programs (a DNS
// server in the container binding 0.0.0.0:53), as dockerd does. Replies
// are translated back by conntrack. A table left by an earlier server in
// the same namespace is replaced.
func redirect(nsPath string, udpPort, tcpPort uint16) error {
	return withConn(nsPath, func(c *nftables.Conn) error {
		t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: redirectTable}
		if exists(c) {
			c.DelTable(t)
		}
		c.AddTable(t)
		accept := nftables.ChainPolicyAccept
		ch := c.AddChain(&nftables.Chain{
			Name: "output", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest, Policy: &accept,
		})
		addr := address().Addr().As4()
		for _, r := range []struct {
			proto byte
			port  uint16
		}{{unix.IPPROTO_UDP, udpPort}, {unix.IPPROTO_TCP, tcpPort}} {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{r.proto}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(address().Port())},
				&expr.Immediate{Register: 1, Data: addr[:]},
				&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(r.port)},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
			}})
		}
		return c.Flush()
	})
}

// unredirect removes the table, if the namespace and the table are still
// there.
func unredirect(nsPath string) {
	_ = withConn(nsPath, func(c *nftables.Conn) error {
		if !exists(c) {
			return nil
		}
		c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: redirectTable})
		return c.Flush()
	})
}

func exists(c *nftables.Conn) bool {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false
	}
	for _, t := range tables {
		if t.Name == redirectTable {
			return true
		}
	}
	return false
}

// withConn runs fn with a netlink connection to the namespace at nsPath
// ("" is the caller's).
func withConn(nsPath string, fn func(*nftables.Conn) error) error {
	var opts []nftables.ConnOption
	if nsPath != "" {
		f, err := os.Open(nsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		opts = append(opts, nftables.WithNetNSFd(int(f.Fd())))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return fn(c)
}

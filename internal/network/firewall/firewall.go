package firewall

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/berth-engine/berth/internal/errdefs"
)

// Backend names accepted by New.
const (
	IPTables = "iptables"
	NFTables = "nftables"
)

// Network is one bridge network as the firewall sees it.
type Network struct {
	Bridge string       // host interface name of the bridge, e.g. "berth0"
	Subnet netip.Prefix // the bridge's IPv4 subnet, e.g. 172.18.0.0/16
	// Internal networks keep their traffic inside the subnet: no masquerade,
	// and anything leaving or entering the bridge from another interface is
	// dropped (docker network create --internal).
	Internal bool
	// ICC lets containers on this bridge talk to each other (docker's
	// com.docker.network.bridge.enable_icc, default true).
	ICC bool
	// Masquerade NATs traffic leaving the subnet to the host's address
	// (docker's com.docker.network.bridge.enable_ip_masquerade, default true).
	Masquerade bool
}

// Port is one published port: traffic to HostIP:HostPort is sent to
// ContainerIP:ContainerPort on Bridge.
type Port struct {
	Proto string // "tcp", "udp" or "sctp"
	// HostIP is the host address published on; the zero Addr or 0.0.0.0
	// means every host address. A loopback address gets no rule: only the
	// host reaches it, through a proxy (see the portmap package).
	HostIP        netip.Addr
	HostPort      uint16
	ContainerIP   netip.Addr
	ContainerPort uint16
	Bridge        string
	// Hairpin makes the DNAT rule apply to traffic arriving from Bridge too,
	// so that containers on the bridge reach the published port through a
	// host address without a userland proxy. When false (the portmap
	// package's choice, which runs a proxy), traffic from the bridge itself
	// is left to the proxy listening on the host port.
	Hairpin bool
}

// Backend installs and removes berth's rules. Every method is safe for
// concurrent use. Errors are of class errdefs.ErrInvalidParameter for a
// malformed Network or Port, errdefs.ErrSystem when the kernel or the
// iptables binary refuses.
type Backend interface {
	// Name is "iptables" or "nftables".
	Name() string
	// AddNetwork installs the rules of n: forwarding, masquerade, ICC,
	// isolation from the other berth networks, internal drops. It is
	// idempotent: rules already there are not added twice.
	AddNetwork(ctx context.Context, n Network) error
	// RemoveNetwork removes exactly the rules AddNetwork added for n. It is
	// idempotent: a network that has no rules is not an error.
	RemoveNetwork(ctx context.Context, n Network) error
	// AddPort installs the DNAT, the filter accept and the hairpin
	// masquerade for p. Idempotent.
	AddPort(ctx context.Context, p Port) error
	// RemovePort removes what AddPort added for p. Idempotent.
	RemovePort(ctx context.Context, p Port) error
	// Close removes berth's base chains and jump rules (iptables) or its
	// table (nftables) when no network or port rule of berth's is left in
	// them; otherwise it leaves them, so that a daemon that stops with
	// running containers keeps their traffic flowing. Close does not
	// remove network or port rules itself.
	Close(ctx context.Context) error
}

// Options tune New. The zero value is what berthd uses.
type Options struct {
	// Table is the nftables table (family inet) the nftables backend owns;
	// "" means "berth". Tests use a table of their own.
	Table string
	// IPTables is the iptables binary the iptables backend runs; "" means
	// "iptables" from PATH (iptables-nft or iptables-legacy, whichever the
	// host chose). Tests run both flavours.
	IPTables string
	// NetNS is the path of a network namespace (such as
	// /var/run/netns/name) whose firewall is programmed instead of the
	// calling process's. "" means the caller's namespace. Tests use it so
	// that the host's firewall is never touched.
	NetNS string
}

// New returns the backend named backend ("" means "iptables") after checking
// that it can work here (the iptables binary runs; nftables netlink answers)
// and creating its base chains or table. An unknown name is
// errdefs.ErrInvalidParameter; a backend that cannot work here is
// errdefs.ErrUnavailable.
func New(ctx context.Context, backend string, opts Options) (Backend, error) {
	switch backend {
	case "", IPTables:
		return newIPTables(ctx, opts)
	case NFTables:
		return newNFTables(ctx, opts)
	}
	return nil, fmt.Errorf("firewall backend %q: must be %q or %q: %w", backend, IPTables, NFTables, errdefs.ErrInvalidParameter)
}

// validProto reports whether proto is one berth publishes.
func validProto(proto string) bool {
	return proto == "tcp" || proto == "udp" || proto == "sctp"
}

func (n Network) validate() error {
	if n.Bridge == "" || len(n.Bridge) > 15 {
		return fmt.Errorf("firewall: bridge name %q: %w", n.Bridge, errdefs.ErrInvalidParameter)
	}
	if !n.Subnet.IsValid() || !n.Subnet.Addr().Is4() {
		return fmt.Errorf("firewall: network %s: subnet %v is not an IPv4 prefix: %w", n.Bridge, n.Subnet, errdefs.ErrInvalidParameter)
	}
	return nil
}

func (p Port) validate() error {
	switch {
	case !validProto(p.Proto):
		return fmt.Errorf("firewall: protocol %q: %w", p.Proto, errdefs.ErrInvalidParameter)
	case p.HostPort == 0 || p.ContainerPort == 0:
		return fmt.Errorf("firewall: port 0: %w", errdefs.ErrInvalidParameter)
	case !p.ContainerIP.Is4():
		return fmt.Errorf("firewall: container address %v is not IPv4: %w", p.ContainerIP, errdefs.ErrInvalidParameter)
	case p.HostIP.IsValid() && !p.HostIP.Is4():
		return fmt.Errorf("firewall: host address %v is not IPv4: %w", p.HostIP, errdefs.ErrInvalidParameter)
	case p.Bridge == "" || len(p.Bridge) > 15:
		return fmt.Errorf("firewall: bridge name %q: %w", p.Bridge, errdefs.ErrInvalidParameter)
	}
	return nil
}

// anyHost reports whether p is published on every host address.
func (p Port) anyHost() bool {
	return !p.HostIP.IsValid() || p.HostIP.IsUnspecified()
}

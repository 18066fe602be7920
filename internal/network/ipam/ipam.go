package ipam

import (
	"fmt"
	"net/netip"

	"github.com/berth-engine/berth/internal/errdefs"
)

// Pool is the allocation state of one IPv4 subnet. It is not safe for
// concurrent use: the network manager serialises access.
type Pool struct {
	subnet  netip.Prefix
	ipRange netip.Prefix
	gateway netip.Addr
	used    map[netip.Addr]string // address → owner (an endpoint ID)
}

// New returns an empty pool. subnet must be an IPv4 prefix no longer than
// /30; ipRange, when valid, must lie inside subnet; gateway, when valid, must
// lie inside subnet and is reserved. Errors are ErrInvalidParameter with
// dockerd's wording.
func New(subnet, ipRange netip.Prefix, gateway netip.Addr) (*Pool, error) {
	if !subnet.IsValid() {
		return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid subnet %s", subnet))
	}
	if subnet.Bits() > subnet.Addr().BitLen()-2 {
		return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid subnet %s: too small for a network", subnet))
	}
	if subnet.Masked() != subnet {
		return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid subnet %s : it must be %s", subnet, subnet.Masked()))
	}
	if ipRange.IsValid() {
		if ipRange.Masked() != ipRange || ipRange.Bits() < subnet.Bits() || !subnet.Contains(ipRange.Addr()) {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("no matching subnet for range %s", ipRange))
		}
	}
	p := &Pool{subnet: subnet, ipRange: ipRange, used: map[netip.Addr]string{}}
	if gateway.IsValid() {
		if !subnet.Contains(gateway) {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("no matching subnet for gateway %s", gateway))
		}
		if gateway.Is4() != subnet.Addr().Is4() {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("no matching subnet for gateway %s", gateway))
		}
		if gateway == subnet.Addr() || (gateway.Is4() && gateway == broadcast(subnet)) {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid gateway %s: it is the network or broadcast address of %s", gateway, subnet))
		}
		p.gateway = gateway
		p.used[gateway] = "gateway"
	}
	return p, nil
}

// DefaultGateway is the first host address of subnet, docker's default.
func DefaultGateway(subnet netip.Prefix) netip.Addr { return subnet.Masked().Addr().Next() }

// Subnet, Range and Gateway return the pool's configuration.
func (p *Pool) Subnet() netip.Prefix { return p.subnet }
func (p *Pool) Range() netip.Prefix  { return p.ipRange }
func (p *Pool) Gateway() netip.Addr  { return p.gateway }

// Contains reports whether ip may be given out by this pool: inside the
// subnet, neither its network nor its broadcast address.
func (p *Pool) Contains(ip netip.Addr) bool {
	if !p.subnet.Contains(ip) || ip == p.subnet.Addr() {
		return false
	}
	return !ip.Is4() || ip != broadcast(p.subnet)
}

// Reserve marks ip as owned by owner, as when rebuilding a pool from
// persisted endpoints. A taken address is ErrConflict.
func (p *Pool) Reserve(ip netip.Addr, owner string) error {
	if !p.Contains(ip) {
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid endpoint settings:\nno configured subnet or ip-range contain the IP address %s", ip))
	}
	if o, ok := p.used[ip]; ok && o != owner {
		return errdefs.New(errdefs.ErrConflict, "Address already in use")
	}
	p.used[ip] = owner
	return nil
}

// Allocate gives owner an address: want when valid (it must be free and in
// the subnet), else the lowest free address of the range (or subnet). A
// full pool is ErrUnavailable.
func (p *Pool) Allocate(owner string, want netip.Addr) (netip.Addr, error) {
	if want.IsValid() {
		return want, p.Reserve(want, owner)
	}
	r := p.subnet
	if p.ipRange.IsValid() {
		r = p.ipRange
	}
	last := lastAddr(r)
	for ip := r.Addr(); ip.IsValid() && r.Contains(ip); ip = ip.Next() {
		if !p.Contains(ip) {
			continue
		}
		if _, taken := p.used[ip]; !taken {
			p.used[ip] = owner
			return ip, nil
		}
		if ip == last {
			break
		}
	}
	return netip.Addr{}, errdefs.New(errdefs.ErrUnavailable, fmt.Sprintf("no available IPv4 addresses on this network's address pools: %s", p.subnet))
}

// Release frees ip if owner holds it.
func (p *Pool) Release(ip netip.Addr, owner string) {
	if p.used[ip] == owner {
		delete(p.used, ip)
	}
}

// InUse is the number of addresses given out (the gateway included).
func (p *Pool) InUse() int { return len(p.used) }

// Overlaps reports whether two prefixes share an address.
func Overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

// lastAddr is the highest address of p (IPv4's broadcast).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= p.Bits() {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := 0; i < 4; i++ {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				a[i] |= 0x80 >> b
			}
		}
	}
	return netip.AddrFrom4(a)
}

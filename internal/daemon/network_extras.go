package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/network"
	"github.com/berth-engine/berth/internal/network/dns"
	"github.com/berth-engine/berth/internal/network/firewall"
	"github.com/berth-engine/berth/internal/network/portmap"
)

// netExtras are the per-container services on top of the endpoints: the
// published ports (network/portmap) and the embedded DNS servers
// (network/dns), both kept in memory and made again for the running
// containers when berthd starts.
type netExtras struct {
	ports *portmap.Mapper

	mu   sync.Mutex
	dnss map[string]*dns.Server // by container ID
}

func (x *netExtras) init() { x.dnss = map[string]*dns.Server{} }

func (x *netExtras) open(fw firewall.Backend) {
	var pfw portmap.Firewall
	if fw != nil {
		pfw = fw
	}
	x.ports = portmap.New(pfw, portmap.Options{})
}

// close stops the DNS servers and releases the host ports' sockets; the
// containers keep running (live restore) and get them back at the next
// start of berthd.
func (x *netExtras) close(ctx context.Context) {
	x.mu.Lock()
	for id, s := range x.dnss {
		_ = s.Close()
		delete(x.dnss, id)
	}
	x.mu.Unlock()
	if x.ports != nil {
		_ = x.ports.Close(ctx)
	}
}

// portRequests turns PortBindings and -P into portmap requests.
func portRequests(c *container.Container) ([]portmap.Request, error) {
	var reqs []portmap.Request
	add := func(p ntypes.Port, b ntypes.PortBinding) error {
		r := portmap.Request{Proto: string(p.Proto()), ContainerPort: p.Num(), HostIP: b.HostIP}
		if b.HostPort != "" {
			pr, err := ntypes.ParsePortRange(b.HostPort)
			if err != nil {
				return invalidParam("invalid port specification: %q", b.HostPort)
			}
			r.HostPortStart, r.HostPortEnd = pr.Start(), pr.End()
		}
		reqs = append(reqs, r)
		return nil
	}
	ports := make([]ntypes.Port, 0, len(c.HostConfig.PortBindings))
	for p := range c.HostConfig.PortBindings {
		ports = append(ports, p)
	}
	slices.SortFunc(ports, func(a, b ntypes.Port) int { return strings.Compare(a.String(), b.String()) })
	for _, p := range ports {
		bs := c.HostConfig.PortBindings[p]
		if len(bs) == 0 {
			bs = []ntypes.PortBinding{{}}
		}
		for _, b := range bs {
			if err := add(p, b); err != nil {
				return nil, err
			}
		}
	}
	if c.HostConfig.PublishAllPorts {
		var exp []ntypes.Port
		for p := range c.Config.ExposedPorts {
			if _, bound := c.HostConfig.PortBindings[p]; !bound {
				exp = append(exp, p)
			}
		}
		slices.SortFunc(exp, func(a, b ntypes.Port) int { return strings.Compare(a.String(), b.String()) })
		for _, p := range exp {
			_ = add(p, ntypes.PortBinding{})
		}
	}
	return reqs, nil
}

// firstBridge is the container's address and bridge on its first bridge
// network (where its ports are published).
func (d *Daemon) firstBridge(c *container.Container) (netip.Addr, string, bool) {
	for _, name := range attachOrder(c) {
		es := c.NetworkSettings.Networks[name]
		if es == nil || !es.IPAddress.IsValid() {
			continue
		}
		n, err := d.net.mgr.Get(es.NetworkID)
		if err != nil || n.Driver != network.DriverBridge {
			continue
		}
		return es.IPAddress, n.Bridge, true
	}
	return netip.Addr{}, "", false
}

// start publishes c's ports and starts its DNS server. The caller holds
// c's lock.
func (x *netExtras) start(ctx context.Context, d *Daemon, c *container.Container, upstream []string) error {
	ns := c.NetworkSettings
	ns.Ports = ntypes.PortMap{}
	for p := range c.Config.ExposedPorts {
		ns.Ports[p] = nil
	}
	for p := range c.HostConfig.PortBindings {
		ns.Ports[p] = nil
	}
	reqs, err := portRequests(c)
	if err != nil {
		return err
	}
	if len(reqs) > 0 && x.ports != nil {
		if ip, br, ok := d.firstBridge(c); ok {
			bs, err := x.ports.Map(ctx, ip, br, reqs)
			if err != nil {
				// dockerd's words around the mapper's, class kept
				epID := ""
				for _, es := range ns.Networks {
					if es != nil && es.IPAddress == ip {
						epID = es.EndpointID
					}
				}
				return &classedErr{err: fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): %v", strings.TrimPrefix(c.Name, "/"), epID, err), class: errClass(err)}
			}
			setBindings(ns, bs)
		}
	}
	if d.usesEmbeddedDNS(c) {
		return x.startDNS(ctx, d, c, upstream)
	}
	return nil
}

// errClass is err's errdefs class, ErrSystem when it has none.
func errClass(err error) error {
	for _, c := range []error{errdefs.ErrInvalidParameter, errdefs.ErrConflict, errdefs.ErrUnavailable, errdefs.ErrNotFound, errdefs.ErrForbidden} {
		if errors.Is(err, c) {
			return c
		}
	}
	return errdefs.ErrSystem
}

func setBindings(ns *ctypes.NetworkSettings, bs []portmap.Binding) {
	for _, b := range bs {
		p, ok := ntypes.PortFrom(b.ContainerPort, ntypes.IPProtocol(b.Proto))
		if !ok {
			continue
		}
		hip := b.HostIP
		if !hip.IsValid() {
			hip = netip.IPv4Unspecified()
		}
		ns.Ports[p] = append(ns.Ports[p], ntypes.PortBinding{HostIP: hip, HostPort: strconv.Itoa(int(b.HostPort))})
	}
}

func bindingsOf(ns *ctypes.NetworkSettings) []portmap.Binding {
	var out []portmap.Binding
	for p, bs := range ns.Ports {
		for _, b := range bs {
			n, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue
			}
			out = append(out, portmap.Binding{Proto: string(p.Proto()), ContainerPort: p.Num(), HostIP: b.HostIP, HostPort: uint16(n)})
		}
	}
	return out
}

func (x *netExtras) startDNS(ctx context.Context, d *Daemon, c *container.Container, upstream []string) error {
	var ups []netip.AddrPort
	for _, s := range upstream {
		if a, err := netip.ParseAddr(s); err == nil {
			ups = append(ups, netip.AddrPortFrom(a, 53))
		}
	}
	srv, err := dns.Serve(ctx, c.NetworkSettings.SandboxKey, &resolver{d: d, id: c.ID}, ups)
	if err != nil {
		return err
	}
	x.mu.Lock()
	if old := x.dnss[c.ID]; old != nil {
		_ = old.Close()
	}
	x.dnss[c.ID] = srv
	x.mu.Unlock()
	return nil
}

// stop closes c's DNS server and releases its ports. The caller holds c's
// lock.
func (x *netExtras) stop(ctx context.Context, c *container.Container) {
	x.mu.Lock()
	if s := x.dnss[c.ID]; s != nil {
		_ = s.Close()
		delete(x.dnss, c.ID)
	}
	x.mu.Unlock()
	if x.ports != nil && c.NetworkSettings != nil {
		if bs := bindingsOf(c.NetworkSettings); len(bs) > 0 {
			if err := x.ports.Unmap(ctx, bs); err != nil {
				log.G(ctx).Warn("releasing published ports", "id", c.ID, "err", err)
			}
		}
	}
}

// restore takes a running container's ports and DNS server back after a
// restart of berthd. The caller holds c's lock.
func (x *netExtras) restore(ctx context.Context, d *Daemon, c *container.Container) {
	ns := c.NetworkSettings
	if bs := bindingsOf(ns); len(bs) > 0 && x.ports != nil {
		if ip, br, ok := d.firstBridge(c); ok {
			var reqs []portmap.Request
			for _, b := range bs {
				reqs = append(reqs, portmap.Request{Proto: b.Proto, ContainerPort: b.ContainerPort, HostIP: b.HostIP, HostPortStart: b.HostPort, HostPortEnd: b.HostPort})
			}
			if _, err := x.ports.Map(ctx, ip, br, reqs); err != nil {
				log.G(ctx).Warn("published ports not restored", "id", c.ID, "err", err)
			}
		}
	}
	if ns.SandboxKey != "" && d.usesEmbeddedDNS(c) {
		hostRC, _ := readHostResolv()
		var ups []string
		if len(c.HostConfig.DNS) > 0 {
			ups = addrStrings(c.HostConfig.DNS)
		} else if len(d.cfg.DNS) > 0 {
			ups = d.cfg.DNS
		} else {
			ups = hostRC
		}
		if err := x.startDNS(ctx, d, c, ups); err != nil {
			log.G(ctx).Warn("DNS server not restored", "id", c.ID, "err", err)
		}
	}
}

// resolver answers the embedded DNS for one container: the names of the
// containers on the user-defined networks it shares with them.
type resolver struct {
	d  *Daemon
	id string
}

func (r *resolver) LookupName(name string) ([]netip.Addr, bool) {
	mgr := r.d.net.mgr
	if mgr == nil {
		return nil, false
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	var out []netip.Addr
	for _, n := range mgr.List() {
		if !n.UserDefined() {
			continue
		}
		if _, mine := n.Endpoints[r.id]; !mine {
			continue
		}
		for _, ep := range n.Endpoints {
			match := strings.EqualFold(ep.ContainerName, name) ||
				(len(name) >= 12 && strings.HasPrefix(ep.ContainerID, name)) ||
				slices.ContainsFunc(ep.Aliases, func(a string) bool { return strings.EqualFold(a, name) })
			if match && !slices.Contains(out, ep.IP) {
				out = append(out, ep.IP)
			}
		}
	}
	return out, len(out) > 0
}

func (r *resolver) LookupAddr(ip netip.Addr) ([]string, bool) {
	mgr := r.d.net.mgr
	if mgr == nil {
		return nil, false
	}
	for _, n := range mgr.List() {
		if !n.UserDefined() {
			continue
		}
		if _, mine := n.Endpoints[r.id]; !mine {
			continue
		}
		for _, ep := range n.Endpoints {
			if ep.IP == ip {
				return []string{ep.ContainerName + "." + n.Name}, true
			}
		}
	}
	return nil, false
}

package portmap

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"sync"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/network/firewall"
)

// Firewall is what the Mapper needs of a firewall backend.
type Firewall interface {
	AddPort(ctx context.Context, p firewall.Port) error
	RemovePort(ctx context.Context, p firewall.Port) error
}

// Options tune a Mapper. The zero value is what berthd uses.
type Options struct {
	// PortRange is the range ephemeral host ports come from; the zero
	// value reads /proc/sys/net/ipv4/ip_local_port_range at each Map.
	PortRange [2]uint16
	// NoProxy disables the userland proxy: host ports are still held by a
	// socket, but nothing is relayed (loopback and hairpin then do not
	// reach the container). For tests of the firewall rules alone.
	NoProxy bool
}

// Request is one port to publish, as parsed from -p/-P.
type Request struct {
	Proto         string     // "tcp" (default when empty), "udp" or "sctp"
	ContainerPort uint16     // must not be 0
	HostIP        netip.Addr // the zero Addr means 0.0.0.0
	// HostPortStart..HostPortEnd is the host port or range to take the
	// first free port from. End == Start (or End 0) is one port; both 0
	// is an ephemeral port.
	HostPortStart, HostPortEnd uint16
}

// Binding is a published port as made, docker's NetworkSettings.Ports
// entry: HostIP is 0.0.0.0 when published on every address.
type Binding struct {
	Proto         string
	ContainerPort uint16
	HostIP        netip.Addr
	HostPort      uint16
}

// String is docker's "0.0.0.0:8080->80/tcp".
func (b Binding) String() string {
	return netip.AddrPortFrom(b.HostIP, b.HostPort).String() + "->" + strconv.Itoa(int(b.ContainerPort)) + "/" + b.Proto
}

// Mapper holds the host ports berth publishes. It is safe for concurrent use.
type Mapper struct {
	fw   Firewall
	opts Options

	mu       sync.Mutex
	bindings map[key]*binding
	next     map[string]uint16 // proto → where the next ephemeral search starts
}

// key identifies a binding on the host side.
type key struct {
	proto  string
	hostIP netip.Addr
	port   uint16
}

// binding is one published port with its socket and proxy.
type binding struct {
	Binding
	fwPort firewall.Port
	proxy  proxy
}

// proxy is the socket that holds a host port, relaying what it receives.
type proxy interface {
	Close() error
}

// New returns a Mapper that installs its rules through fw (nil installs
// none: the proxy alone publishes, which is enough for the host's own
// connections).
func New(fw Firewall, opts Options) *Mapper {
	return &Mapper{fw: fw, opts: opts, bindings: map[key]*binding{}, next: map[string]uint16{}}
}

// Validate checks reqs without reserving anything; Map calls it first.
// Errors are errdefs.ErrInvalidParameter.
func Validate(reqs []Request) error {
	for _, r := range reqs {
		proto := r.Proto
		if proto == "" {
			proto = "tcp"
		}
		switch {
		case proto != "tcp" && proto != "udp" && proto != "sctp":
			return fmt.Errorf("invalid proto '%s': %w", r.Proto, errdefs.ErrInvalidParameter)
		case r.ContainerPort == 0:
			return fmt.Errorf("invalid containerPort: 0: %w", errdefs.ErrInvalidParameter)
		case r.HostIP.IsValid() && !r.HostIP.Is4():
			return fmt.Errorf("invalid host IP %s: only IPv4 is published: %w", r.HostIP, errdefs.ErrInvalidParameter)
		case r.HostPortEnd != 0 && r.HostPortStart == 0:
			return fmt.Errorf("invalid hostPort range 0-%d: %w", r.HostPortEnd, errdefs.ErrInvalidParameter)
		case r.HostPortEnd != 0 && r.HostPortEnd < r.HostPortStart:
			return fmt.Errorf("invalid hostPort: %d-%d: %w", r.HostPortStart, r.HostPortEnd, errdefs.ErrInvalidParameter)
		}
	}
	return nil
}

// Map publishes reqs for the container at containerIP on bridge and
// returns the bindings made, in the order of reqs. It is all or nothing: on
// error nothing of this call stays reserved or installed. Errors:
// errdefs.ErrInvalidParameter for bad requests, errdefs.ErrConflict for a
// host port already allocated or in use, errdefs.ErrUnavailable when a
// range or the ephemeral range has no free port. The daemon reports it
// wrapped in EndpointError, as dockerd does.
func (m *Mapper) Map(ctx context.Context, containerIP netip.Addr, bridge string, reqs []Request) ([]Binding, error) {
	return m.mapPorts(ctx, containerIP, bridge, reqs)
}

// Unmap releases bindings made by Map: closes their sockets and removes
// their rules. Bindings this Mapper does not hold are ignored. It carries
// on past errors and returns the first.
func (m *Mapper) Unmap(ctx context.Context, bindings []Binding) error {
	return m.unmapPorts(ctx, bindings)
}

// Close releases every binding (berthd's shutdown). The firewall rules are
// removed too; a restarted berthd maps its running containers again.
func (m *Mapper) Close(ctx context.Context) error {
	m.mu.Lock()
	var all []Binding
	for _, b := range m.bindings {
		all = append(all, b.Binding)
	}
	m.mu.Unlock()
	return m.Unmap(ctx, all)
}

// EndpointError is err as dockerd reports a failure to publish the ports of
// an endpoint: "driver failed programming external connectivity on endpoint
// NAME (ID): " followed by Map's error. It keeps err's class.
func EndpointError(name, id string, err error) error {
	if err == nil {
		return nil
	}
	return &endpointError{msg: fmt.Sprintf("driver failed programming external connectivity on endpoint %s (%s): %v", name, id, err), err: err}
}

type endpointError struct {
	msg string
	err error
}

func (e *endpointError) Error() string { return e.msg }
func (e *endpointError) Unwrap() error { return e.err }

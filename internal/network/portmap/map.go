package portmap

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/network/firewall"
)

func (m *Mapper) mapPorts(ctx context.Context, containerIP netip.Addr, bridge string, reqs []Request) ([]Binding, error) {
	if err := Validate(reqs); err != nil {
		return nil, err
	}
	if !containerIP.Is4() {
		return nil, fmt.Errorf("container address %v is not IPv4: %w", containerIP, errdefs.ErrInvalidParameter)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var made []*binding
	out := make([]Binding, 0, len(reqs))
	fail := func(err error) ([]Binding, error) {
		for i := len(made) - 1; i >= 0; i-- {
			_ = m.release(ctx, made[i])
		}
		return nil, err
	}
	for _, r := range reqs {
		if r.Proto == "" {
			r.Proto = "tcp"
		}
		if !r.HostIP.IsValid() {
			r.HostIP = netip.IPv4Unspecified()
		}
		if r.HostPortEnd == 0 {
			r.HostPortEnd = r.HostPortStart
		}
		// The same explicit request twice (-p 8080:80 -p 8080:80) is one
		// binding, as docker merges them.
		if dup := m.duplicate(made, containerIP, r); dup != nil {
			out = append(out, dup.Binding)
			continue
		}
		b, err := m.reserve(ctx, containerIP, r)
		if err != nil {
			return fail(err)
		}
		b.fwPort = firewall.Port{
			Proto: b.Proto, HostIP: b.HostIP, HostPort: b.HostPort,
			ContainerIP: containerIP, ContainerPort: b.ContainerPort, Bridge: bridge,
		}
		m.bindings[keyOf(b.Binding)] = b
		made = append(made, b)
		if m.fw != nil && bridge != "" {
			if err := m.fw.AddPort(ctx, b.fwPort); err != nil {
				b.fwPort.Bridge = "" // nothing to remove
				return fail(err)
			}
		}
		out = append(out, b.Binding)
	}
	return out, nil
}

func keyOf(b Binding) key { return key{proto: b.Proto, hostIP: b.HostIP, port: b.HostPort} }

func (m *Mapper) duplicate(made []*binding, cip netip.Addr, r Request) *binding {
	if r.HostPortStart == 0 || r.HostPortStart != r.HostPortEnd {
		return nil
	}
	for _, b := range made {
		if b.Proto == r.Proto && b.HostIP == r.HostIP && b.HostPort == r.HostPortStart && b.ContainerPort == r.ContainerPort && b.fwPort.ContainerIP == cip {
			return b
		}
	}
	return nil
}

// allocated reports whether berth already holds proto port on ip (or on an
// address that overlaps it: 0.0.0.0 overlaps every address).
func (m *Mapper) allocated(proto string, ip netip.Addr, port uint16) bool {
	for k := range m.bindings {
		if k.proto == proto && k.port == port && (k.hostIP == ip || k.hostIP.IsUnspecified() || ip.IsUnspecified()) {
			return true
		}
	}
	return false
}

// reserve takes a host port for r and opens its socket.
func (m *Mapper) reserve(ctx context.Context, cip netip.Addr, r Request) (*binding, error) {
	b := &binding{Binding: Binding{Proto: r.Proto, ContainerPort: r.ContainerPort, HostIP: r.HostIP}}
	target := netip.AddrPortFrom(cip, r.ContainerPort)
	if r.HostPortStart != 0 {
		var firstErr error
		for port := int(r.HostPortStart); port <= int(r.HostPortEnd); port++ {
			if m.allocated(r.Proto, r.HostIP, uint16(port)) {
				continue
			}
			p, err := m.listen(ctx, r.Proto, netip.AddrPortFrom(r.HostIP, uint16(port)), target)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			b.HostPort, b.proxy = uint16(port), p
			return b, nil
		}
		if firstErr != nil {
			return nil, firstErr
		}
		ports := strconv.Itoa(int(r.HostPortStart))
		if r.HostPortEnd != r.HostPortStart {
			ports += "-" + strconv.Itoa(int(r.HostPortEnd))
		}
		return nil, errdefs.New(errdefs.ErrConflict, fmt.Sprintf("Bind for %s:%s failed: port is already allocated", r.HostIP, ports))
	}
	lo, hi, err := m.ephemeralRange()
	if err != nil {
		return nil, err
	}
	start := m.next[r.Proto]
	if start < lo || start > hi {
		start = lo
	}
	n := int(hi) - int(lo) + 1
	for i := 0; i < n; i++ {
		port := uint16(int(lo) + (int(start)-int(lo)+i)%n)
		if m.allocated(r.Proto, r.HostIP, port) {
			continue
		}
		p, err := m.listen(ctx, r.Proto, netip.AddrPortFrom(r.HostIP, port), target)
		if err != nil {
			if errors.Is(err, errdefs.ErrConflict) {
				continue
			}
			return nil, err
		}
		m.next[r.Proto] = port + 1
		b.HostPort, b.proxy = port, p
		return b, nil
	}
	return nil, fmt.Errorf("no free host port in %d-%d for %s: %w", lo, hi, r.Proto, errdefs.ErrUnavailable)
}

// ephemeralRange is Options.PortRange or the kernel's local port range.
func (m *Mapper) ephemeralRange() (uint16, uint16, error) {
	if m.opts.PortRange[0] != 0 {
		return m.opts.PortRange[0], m.opts.PortRange[1], nil
	}
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, fmt.Errorf("ephemeral port range: %w: %w", err, errdefs.ErrSystem)
	}
	return parseRange(string(data))
}

// parseRange parses ip_local_port_range's "32768\t60999".
func parseRange(s string) (uint16, uint16, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("ephemeral port range %q: %w", s, errdefs.ErrSystem)
	}
	lo, err1 := strconv.ParseUint(f[0], 10, 16)
	hi, err2 := strconv.ParseUint(f[1], 10, 16)
	if err1 != nil || err2 != nil || lo == 0 || hi < lo {
		return 0, 0, fmt.Errorf("ephemeral port range %q: %w", s, errdefs.ErrSystem)
	}
	return uint16(lo), uint16(hi), nil
}

// listen opens the socket holding hostAddr and, unless disabled, its proxy
// to target. A port in use is errdefs.ErrConflict with the kernel's words.
func (m *Mapper) listen(ctx context.Context, proto string, hostAddr, target netip.AddrPort) (proxy, error) {
	p, err := newProxy(ctx, proto, hostAddr, target, !m.opts.NoProxy)
	if err == nil {
		return p, nil
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, errdefs.New(errdefs.ErrConflict, err.Error())
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	case errors.Is(err, errdefs.ErrUnavailable):
		return nil, err
	}
	return nil, errdefs.New(errdefs.ErrSystem, err.Error())
}

func (m *Mapper) unmapPorts(ctx context.Context, bindings []Binding) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var first error
	for _, bb := range bindings {
		if !bb.HostIP.IsValid() {
			bb.HostIP = netip.IPv4Unspecified()
		}
		if bb.Proto == "" {
			bb.Proto = "tcp"
		}
		b, ok := m.bindings[keyOf(bb)]
		if !ok || b.ContainerPort != bb.ContainerPort {
			continue
		}
		if err := m.release(ctx, b); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// release removes b's rules, closes its socket and forgets it.
func (m *Mapper) release(ctx context.Context, b *binding) error {
	var first error
	if m.fw != nil && b.fwPort.Bridge != "" {
		first = m.fw.RemovePort(ctx, b.fwPort)
	}
	if b.proxy != nil {
		if err := b.proxy.Close(); err != nil && first == nil {
			first = err
		}
	}
	delete(m.bindings, keyOf(b.Binding))
	return first
}

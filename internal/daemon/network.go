package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	ntypes "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/network"
	"github.com/berth-engine/berth/internal/network/bridge"
	"github.com/berth-engine/berth/internal/network/firewall"
	"github.com/berth-engine/berth/internal/network/sandbox"
)

// Networking in the daemon. A container whose NetworkMode names a network
// (bridge, the default, or a user-defined one) gets at each start a
// network namespace from the pool (<exec-root>/netns/<sandbox>), one
// endpoint per network in its NetworkSettings.Networks (eth0 on the mode's
// network, then the others by name), its published ports and, on
// user-defined networks, the embedded DNS server; its exit takes all of it
// down again. /etc/hosts, /etc/resolv.conf and /etc/hostname are written at
// each start under the container's directory for every mode but
// container:<id>, which uses the other container's.

// netState is the daemon's networking; err says why it is unavailable
// (berthd without root, a kernel without bridges).
type netState struct {
	mgr    *network.Manager
	poolMu sync.Mutex
	pool   *sandbox.Pool // nil until restoreNetworking, and after close
	fw     firewall.Backend
	dir    string // <exec-root>/netns
	err    error
	extra  netExtras // published ports and DNS servers
}

// netnsPoolSize is how many namespaces are kept ready: a run takes one
// and the refill makes the next while the container runs.
const netnsPoolSize = 3

// initNetworking opens the network manager: the records, the default
// bridge and its rules. A failure leaves networking unavailable, not the
// daemon: containers on a network then fail to start with the reason.
func (d *Daemon) initNetworking(ctx context.Context) {
	d.net = &netState{dir: filepath.Join(d.cfg.ExecRoot, "netns")}
	d.net.extra.init()
	if err := d.openNetworking(ctx); err != nil {
		d.net.err = err
		log.G(ctx).Warn("networking unavailable: containers on networks will not start", "err", err)
	}
}

func (d *Daemon) openNetworking(ctx context.Context) error {
	cfg := network.Config{
		Root:            filepath.Join(d.cfg.DataRoot, "network"),
		Bridge:          d.cfg.Bridge,
		NoDefaultBridge: d.noDefaultBridge(),
		MTU:             d.cfg.MTU,
		HostRoutes:      network.HostRoutes,
		NoICC:           d.cfg.ICC != nil && !*d.cfg.ICC,
		NoMasquerade:    d.cfg.IPMasq != nil && !*d.cfg.IPMasq,
		Links:           network.KernelLinks{},
	}
	if d.cfg.Bip != "" {
		cfg.Bip, _ = netip.ParsePrefix(d.cfg.Bip)
	}
	if d.cfg.FixedCIDR != "" {
		cfg.FixedCIDR, _ = netip.ParsePrefix(d.cfg.FixedCIDR)
		cfg.FixedCIDR = cfg.FixedCIDR.Masked()
	}
	for _, p := range d.cfg.DefaultAddressPools {
		cfg.Pools = append(cfg.Pools, network.AddressPool{Base: p.Base, Size: p.Size})
	}
	if d.cfg.IPTables == nil || *d.cfg.IPTables {
		fw, err := firewall.New(ctx, d.cfg.FirewallBackend, firewall.Options{})
		if err != nil {
			return fmt.Errorf("firewall backend: %w", err)
		}
		d.net.fw = fw
		cfg.Firewall = fw
	}
	mgr, err := network.New(ctx, cfg)
	if err != nil {
		if d.net.fw != nil {
			_ = d.net.fw.Close(ctx)
			d.net.fw = nil
		}
		return err
	}
	d.net.mgr = mgr
	d.net.extra.open(d.net.fw)
	// The namespace pool starts after restoreNetworking's sweep of the
	// netns directory, which must not meet a namespace being made.
	return nil
}

// closeNetworking stops the namespace pool and, for the networks nothing
// uses, removes their bridges and rules (running containers keep theirs:
// live restore).
func (d *Daemon) closeNetworking(ctx context.Context) {
	if d.net == nil || d.net.mgr == nil {
		return
	}
	if p := d.net.takePool(); p != nil {
		p.Close()
	}
	d.net.extra.close(ctx)
	d.net.mgr.Shutdown(ctx)
	if d.net.fw != nil {
		if err := d.net.fw.Close(ctx); err != nil {
			log.G(ctx).Warn("firewall close", "err", err)
		}
	}
	d.net.mgr = nil
}

// netReady returns the manager, or why networking is unavailable.
func (d *Daemon) netReady() (*network.Manager, error) {
	if d.net == nil || d.net.mgr == nil {
		err := errors.New("networking is not initialised")
		if d.net != nil && d.net.err != nil {
			err = d.net.err
		}
		return nil, errdefs.New(errdefs.ErrUnavailable, "networking is unavailable: "+err.Error())
	}
	return d.net.mgr, nil
}

// netKind classifies a NetworkMode.
type netKind int

const (
	netNone netKind = iota
	netHost
	netContainer
	netAttached // the default bridge or a named network
)

func networkKind(mode ctypes.NetworkMode) netKind {
	m := string(mode)
	switch {
	case m == "none":
		return netNone
	case m == "host":
		return netHost
	case strings.HasPrefix(m, "container:"):
		return netContainer
	}
	return netAttached
}

// primaryNetwork is the network a NetworkMode names ("" and "default" are
// the default bridge).
func primaryNetwork(mode ctypes.NetworkMode) string {
	if m := string(mode); m != "" && m != "default" {
		return m
	}
	return network.NameBridge
}

// noDefaultBridge is dockerd's --bridge=none: no default bridge network, and
// a container that names no network gets none (loopback only).
func (d *Daemon) noDefaultBridge() bool { return d.cfg.Bridge == "none" }

// planNetworks checks a create's network settings and returns the
// container's Networks (by network name), with dockerd's errors.
func (d *Daemon) planNetworks(hc *ctypes.HostConfig, nc *ntypes.NetworkingConfig) (map[string]*ntypes.EndpointSettings, error) {
	var eps map[string]*ntypes.EndpointSettings
	if nc != nil {
		eps = nc.EndpointsConfig
	}
	if hc.NetworkMode == "" || hc.NetworkMode == "default" {
		hc.NetworkMode = network.NameBridge
		if d.noDefaultBridge() {
			// The client's endpoint settings for "default" (the docker
			// CLI sends them) have no network to go to.
			hc.NetworkMode = network.NameNone
			eps = maps.Clone(eps)
			delete(eps, "default")
		}
	}
	out := map[string]*ntypes.EndpointSettings{}
	kind := networkKind(hc.NetworkMode)
	if kind != netAttached {
		for name := range eps {
			if name != string(hc.NetworkMode) {
				return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("conflicting options: cannot attach both user-defined and non-user-defined network-modes"))
			}
		}
		if kind == netContainer {
			return out, nil
		}
		mgr, err := d.netReady()
		if err != nil {
			return out, nil // the record still says which mode
		}
		n, err := mgr.Get(string(hc.NetworkMode))
		if err != nil {
			return out, nil
		}
		out[n.Name] = &ntypes.EndpointSettings{NetworkID: n.ID}
		return out, nil
	}
	mgr, err := d.netReady()
	if err != nil {
		return nil, err
	}
	primary, err := mgr.Get(primaryNetwork(hc.NetworkMode))
	if err != nil {
		return nil, err
	}
	if primary.Driver == network.DriverHost || primary.Driver == network.DriverNull {
		hc.NetworkMode = ctypes.NetworkMode(primary.Name)
		out[primary.Name] = &ntypes.EndpointSettings{NetworkID: primary.ID}
		return out, nil
	}
	add := func(n *network.Network, es *ntypes.EndpointSettings) error {
		var cp *ntypes.EndpointSettings
		if es != nil {
			cp = es.Copy()
		} else {
			cp = &ntypes.EndpointSettings{}
		}
		if err := checkEndpointConfig(n, cp); err != nil {
			return err
		}
		cp.NetworkID = n.ID
		cp.EndpointID, cp.IPAddress, cp.Gateway, cp.IPPrefixLen = "", netip.Addr{}, netip.Addr{}, 0
		out[n.Name] = cp
		return nil
	}
	for ref, es := range eps {
		if ref == "default" || ref == string(hc.NetworkMode) {
			ref = primary.ID // the CLI keys the mode's endpoint by the mode
		}
		n, err := mgr.Get(ref)
		if err != nil {
			return nil, err
		}
		if n.Driver == network.DriverHost || n.Driver == network.DriverNull {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("Container cannot be connected to network endpoints: %s, %s", primary.Name, n.Name))
		}
		if err := add(n, es); err != nil {
			return nil, err
		}
	}
	if _, ok := out[primary.Name]; !ok {
		if err := add(primary, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkEndpointConfig applies dockerd's rules for --ip and --network-alias.
func checkEndpointConfig(n *network.Network, es *ntypes.EndpointSettings) error {
	if es.IPAMConfig != nil && es.IPAMConfig.IPv4Address.IsValid() {
		ip := es.IPAMConfig.IPv4Address
		if !n.UserDefined() {
			return errdefs.New(errdefs.ErrInvalidParameter, "user specified IP address is supported on user defined networks only")
		}
		if !n.UserSubnet && (n.Driver == network.DriverBridge || n.Driver == network.DriverMacvlan || n.Driver == network.DriverIPvlan) {
			return errdefs.New(errdefs.ErrInvalidParameter, "user specified IP address is supported only when connecting to networks with user configured subnets")
		}
		if !ip.Is4() || !n.Subnet.Contains(ip) || (n.IPRange.IsValid() && !n.IPRange.Contains(ip)) {
			return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid endpoint settings:\nno configured subnet or ip-range contain the IP address %s", ip))
		}
	}
	if es.IPAMConfig != nil && es.IPAMConfig.IPv6Address.IsValid() {
		ip6 := es.IPAMConfig.IPv6Address
		s6, _ := n.Subnet6()
		if !n.UserDefined() {
			return errdefs.New(errdefs.ErrInvalidParameter, "user specified IP address is supported on user defined networks only")
		}
		if !s6.IsValid() || !s6.Contains(ip6) {
			return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid endpoint settings:\nno configured subnet or ip-range contain the IP address %s", ip6))
		}
	}
	if len(es.Aliases) > 0 && !n.UserDefined() {
		return errdefs.New(errdefs.ErrInvalidParameter, "network-scoped alias is supported only for containers in user defined networks")
	}
	if len(es.MacAddress) > 0 && len(es.MacAddress) != 6 {
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid MAC address %s", es.MacAddress))
	}
	return nil
}

// netFiles are what setupNetwork gives the spec, and the rest of the
// set-up.
type netFiles struct {
	NetnsPath, HostsPath, ResolvConfPath, HostnamePath string
	// Attach, when not nil, puts the container on its networks in the
	// namespace at NetnsPath (endpoints, their addresses in its hosts
	// file, published ports, embedded DNS). It must have returned before
	// the container's process starts; it may run while the runtime
	// creates the container, since it touches nothing the runtime reads
	// (the hosts file is rewritten in place, under its bind mount).
	// Its caller holds c's lock for it; on its error, teardownNetwork
	// undoes what it did.
	Attach func() error
}

// setupNetwork gives a starting container its network: the namespace, its
// three files, and in Attach its endpoints when it is on networks. The
// caller holds c's lock; on error nothing is left.
func (d *Daemon) setupNetwork(ctx context.Context, c *container.Container) (_ netFiles, retErr error) {
	var f netFiles
	t0 := time.Now()
	defer func() { log.G(ctx).Debug("network set-up", "id", c.ID, "took", time.Since(t0)) }()
	kind := networkKind(c.HostConfig.NetworkMode)
	if kind == netContainer {
		// The other container's stack and files.
		ref := strings.TrimPrefix(string(c.HostConfig.NetworkMode), "container:")
		if other, err := d.containers.Get(ref); err == nil && other != c {
			other.Lock()
			f.HostsPath, f.ResolvConfPath, f.HostnamePath = other.HostsPath, other.ResolvConfPath, other.HostnamePath
			// As dockerd: its hostname too (in a UTS namespace of
			// this container's own).
			c.Config.Hostname, c.Config.Domainname = other.Config.Hostname, other.Config.Domainname
			other.Unlock()
		}
		c.HostsPath, c.ResolvConfPath, c.HostnamePath = f.HostsPath, f.ResolvConfPath, f.HostnamePath
		return f, nil
	}
	if c.NetworkSettings == nil {
		c.NetworkSettings = &ctypes.NetworkSettings{Networks: map[string]*ntypes.EndpointSettings{}}
	}
	if c.NetworkSettings.Networks == nil {
		c.NetworkSettings.Networks = map[string]*ntypes.EndpointSettings{}
	}
	hostname := c.Config.Hostname
	if hostname == "" {
		hostname = container.ShortID(c.ID)
	}
	hosts := sandbox.Hosts{IPv6: true}
	ropts := sandbox.ResolvOpts{
		DNS: addrStrings(c.HostConfig.DNS), DNSSearch: c.HostConfig.DNSSearch, DNSOptions: c.HostConfig.DNSOptions,
		HostNetwork: kind == netHost,
	}
	if len(ropts.DNS) == 0 {
		ropts.DNS = d.cfg.DNS
	}
	if len(ropts.DNSSearch) == 0 {
		ropts.DNSSearch = d.cfg.DNSSearch
	}
	if len(ropts.DNSOptions) == 0 {
		ropts.DNSOptions = d.cfg.DNSOptions
	}
	var mgr *network.Manager
	if kind == netAttached {
		var err error
		if mgr, err = d.netReady(); err != nil {
			return f, err
		}
		ns, err := d.net.getNS()
		if err != nil {
			return f, fmt.Errorf("creating the network namespace: %w", err)
		}
		defer func() {
			if retErr != nil {
				d.teardownNetwork(context.WithoutCancel(ctx), c)
			}
		}()
		c.NetworkSettings.SandboxID, c.NetworkSettings.SandboxKey = ns.ID, ns.Path
		f.NetnsPath = ns.Path
		if len(c.NetworkSettings.Networks) == 0 {
			c.NetworkSettings.Networks[primaryNetwork(c.HostConfig.NetworkMode)] = &ntypes.EndpointSettings{}
		}
		ropts.Internal = d.usesEmbeddedDNS(c)
	}
	extra, err := d.extraHosts(c)
	if err != nil {
		return f, err
	}
	hosts.Extra = extra
	dir := d.containers.Dir(c.ID)
	f.HostsPath = filepath.Join(dir, "hosts")
	f.ResolvConfPath = filepath.Join(dir, "resolv.conf")
	f.HostnamePath = filepath.Join(dir, "hostname")
	hostsData := sandbox.BuildHosts(hosts)
	if kind == netHost {
		if data, err := os.ReadFile("/etc/hosts"); err == nil {
			hostsData = append(data, sandbox.BuildHosts(sandbox.Hosts{Extra: extra})[len("127.0.0.1\tlocalhost\n"):]...)
		}
	}
	hostRC, _ := sandbox.ReadResolvConf("/etc/resolv.conf")
	rc, upstream := sandbox.BuildResolvConf(hostRC, ropts)
	for _, w := range []struct {
		path string
		data []byte
	}{{f.HostsPath, hostsData}, {f.ResolvConfPath, rc}, {f.HostnamePath, sandbox.BuildHostname(hostname)}} {
		if err := os.WriteFile(w.path, w.data, 0o644); err != nil {
			return f, err
		}
	}
	c.HostsPath, c.ResolvConfPath, c.HostnamePath = f.HostsPath, f.ResolvConfPath, f.HostnamePath
	if kind == netAttached {
		f.Attach = func() error {
			if err := d.attachAll(ctx, mgr, c, f.NetnsPath); err != nil {
				return err
			}
			for _, es := range c.NetworkSettings.Networks {
				names := []string{hostname}
				if dn := c.Config.Domainname; dn != "" {
					names = []string{hostname + "." + dn, hostname}
				}
				if es.IPAddress.IsValid() {
					hosts.Self = append(hosts.Self, sandbox.HostEntry{IP: es.IPAddress.String(), Names: names})
				}
				if es.GlobalIPv6Address.IsValid() {
					hosts.Self = append(hosts.Self, sandbox.HostEntry{IP: es.GlobalIPv6Address.String(), Names: names})
				}
			}
			// In place (not a rename): the runtime may have bind
			// mounted the file already.
			if err := os.WriteFile(f.HostsPath, sandbox.BuildHosts(hosts), 0o644); err != nil {
				return err
			}
			return d.net.extra.start(ctx, d, c, upstream)
		}
	}
	return f, nil
}

// interfaceSysctls reports whether the spec sets a sysctl of a network
// interface (net.ipv4.conf.eth0.*, say), which the runtime writes at
// create: the container's interfaces must exist by then.
func interfaceSysctls(spec *specs.Spec) bool {
	if spec.Linux == nil {
		return false
	}
	for k := range spec.Linux.Sysctl {
		for _, p := range []string{"net.ipv4.conf.", "net.ipv6.conf.", "net.ipv4.neigh.", "net.ipv6.neigh."} {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
	}
	return false
}

// attachOrder is the order of a container's networks: the mode's first
// (eth0, the default route), then the others by name.
func attachOrder(c *container.Container) []string {
	primary := primaryNetwork(c.HostConfig.NetworkMode)
	var names []string
	for name, es := range c.NetworkSettings.Networks {
		if name == primary || (es != nil && es.NetworkID != "" && strings.HasPrefix(es.NetworkID, primary)) {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	if _, ok := c.NetworkSettings.Networks[primary]; ok {
		names = append([]string{primary}, names...)
	} else {
		for name, es := range c.NetworkSettings.Networks {
			if es != nil && es.NetworkID != "" && strings.HasPrefix(es.NetworkID, primary) {
				names = append([]string{name}, slices.DeleteFunc(names, func(s string) bool { return s == name })...)
			}
		}
	}
	return names
}

// attachAll puts c on each of its networks, in attachOrder. The caller
// holds c's lock.
func (d *Daemon) attachAll(ctx context.Context, mgr *network.Manager, c *container.Container, nsPath string) error {
	if len(c.NetworkSettings.Networks) == 0 {
		c.NetworkSettings.Networks[primaryNetwork(c.HostConfig.NetworkMode)] = &ntypes.EndpointSettings{}
	}
	gwDone := false
	for i, name := range attachOrder(c) {
		es := c.NetworkSettings.Networks[name]
		ref := name
		if es.NetworkID != "" {
			if _, err := mgr.Get(es.NetworkID); err == nil {
				ref = es.NetworkID
			}
		}
		n, err := mgr.Get(ref)
		if err != nil {
			return err
		}
		def := !gwDone && !n.Internal
		if _, err := d.attachOne(ctx, mgr, c, n, es, fmt.Sprintf("eth%d", i), nsPath, def); err != nil {
			return err
		}
		gwDone = gwDone || def
		if name != n.Name { // renamed network: keep the record's key in step
			delete(c.NetworkSettings.Networks, name)
			c.NetworkSettings.Networks[n.Name] = es
		}
	}
	return nil
}

// attachOne attaches c to n as ifName and fills es's operational fields.
func (d *Daemon) attachOne(ctx context.Context, mgr *network.Manager, c *container.Container, n *network.Network, es *ntypes.EndpointSettings, ifName, nsPath string, defRoute bool) (network.Endpoint, error) {
	var want, want6 netip.Addr
	if es.IPAMConfig != nil {
		want, want6 = es.IPAMConfig.IPv4Address, es.IPAMConfig.IPv6Address
	}
	ep, n, err := mgr.Attach(ctx, n.ID, network.AttachOpts{
		ContainerID: c.ID, ContainerName: strings.TrimPrefix(c.Name, "/"), NSPath: nsPath,
		IfName: ifName, IP: want, IP6: want6, MAC: []byte(es.MacAddress), Aliases: es.Aliases, DefaultRoute: defRoute,
	})
	if err != nil {
		return ep, err
	}
	es.NetworkID, es.EndpointID = n.ID, ep.ID
	es.Gateway, es.IPAddress, es.IPPrefixLen = n.Gateway, ep.IP, n.PrefixLen()
	if ep.IP6.IsValid() {
		s6, gw6 := n.Subnet6()
		es.GlobalIPv6Address, es.GlobalIPv6PrefixLen, es.IPv6Gateway = ep.IP6, s6.Bits(), gw6
	}
	if mac, err := parseMAC(ep.MAC); err == nil {
		es.MacAddress = mac
	}
	es.DNSNames = slices.Clone(ep.DNSNames)
	d.logNetworkEvent(n, eventtypes.ActionConnect, c.ID)
	return ep, nil
}

// usesEmbeddedDNS: a container on a user-defined network asks 127.0.0.11.
func (d *Daemon) usesEmbeddedDNS(c *container.Container) bool {
	if d.net == nil || d.net.mgr == nil || c.NetworkSettings == nil {
		return false
	}
	for name, es := range c.NetworkSettings.Networks {
		ref := name
		if es != nil && es.NetworkID != "" {
			ref = es.NetworkID
		}
		if n, err := d.net.mgr.Get(ref); err == nil && n.UserDefined() {
			return true
		}
	}
	return false
}

// extraHosts are --add-host (host-gateway is the default bridge's
// gateway, docker's default host-gateway-ip) and --link entries.
func (d *Daemon) extraHosts(c *container.Container) ([]sandbox.HostEntry, error) {
	var out []sandbox.HostEntry
	for _, h := range c.HostConfig.ExtraHosts {
		name, ip, ok := strings.Cut(h, "=")
		if !ok {
			name, ip, _ = strings.Cut(h, ":")
		}
		if ip == "host-gateway" {
			gw, err := d.hostGateway()
			if err != nil {
				return nil, err
			}
			ip = gw.String()
		}
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		out = append(out, sandbox.HostEntry{IP: ip, Names: []string{name}})
	}
	for _, l := range c.HostConfig.Links {
		ref, alias, _ := strings.Cut(l, ":")
		ref = strings.TrimPrefix(ref, "/")
		alias = alias[strings.LastIndex(alias, "/")+1:]
		other, err := d.containers.Get(ref)
		if err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("could not get container for %s: No such container: %s", ref, ref))
		}
		if other == c {
			continue
		}
		other.Lock()
		var ip netip.Addr
		if other.NetworkSettings != nil {
			for _, es := range other.NetworkSettings.Networks {
				if es != nil && es.IPAddress.IsValid() {
					ip = es.IPAddress
					break
				}
			}
		}
		running, oname, oid := other.State.Running, strings.TrimPrefix(other.Name, "/"), other.ID
		other.Unlock()
		if !running || !ip.IsValid() {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("Cannot link to a non running container: /%s AS /%s/%s", oname, strings.TrimPrefix(c.Name, "/"), alias))
		}
		names := []string{}
		if alias != "" && alias != oname {
			names = append(names, alias)
		}
		names = append(names, container.ShortID(oid), oname)
		out = append(out, sandbox.HostEntry{IP: ip.String(), Names: names})
	}
	return out, nil
}

// hostGateway is docker's host-gateway: the default bridge's gateway.
func (d *Daemon) hostGateway() (netip.Addr, error) {
	mgr, err := d.netReady()
	if err != nil {
		return netip.Addr{}, err
	}
	n, err := mgr.Get(network.NameBridge)
	if err != nil {
		return netip.Addr{}, err
	}
	return n.Gateway, nil
}

// teardownNetwork undoes setupNetwork for a container that stopped (or
// failed to start): DNS server, ports, endpoints, namespace. The record
// keeps the configuration (networks, --ip, aliases) for the next start.
// The caller holds c's lock.
func (d *Daemon) teardownNetwork(ctx context.Context, c *container.Container) {
	if d.net == nil || c.NetworkSettings == nil {
		return
	}
	t0 := time.Now()
	defer func() { log.G(ctx).Debug("network teardown", "id", c.ID, "took", time.Since(t0)) }()
	d.net.extra.stop(ctx, c)
	key := c.NetworkSettings.SandboxKey
	deleteNS := func() {
		if key == "" {
			return
		}
		if err := sandbox.Delete(key); err != nil {
			log.G(ctx).Warn("removing network namespace", "id", c.ID, "err", err)
		}
	}
	if mgr := d.net.mgr; mgr != nil {
		for _, es := range c.NetworkSettings.Networks {
			if es == nil || es.EndpointID == "" {
				continue
			}
			if n, err := mgr.Get(es.NetworkID); err == nil {
				d.logNetworkEvent(n, eventtypes.ActionDisconnect, c.ID)
			}
		}
		// The links, addresses and namespace go in the background; the
		// next attach of this container, a network's removal and the
		// daemon's stop wait for them.
		mgr.DetachAllAsync(context.WithoutCancel(ctx), c.ID, deleteNS)
	} else {
		deleteNS()
	}
	clearOperational(c.NetworkSettings)
}

func clearOperational(ns *ctypes.NetworkSettings) {
	ns.SandboxID, ns.SandboxKey = "", ""
	ns.Ports = ntypes.PortMap{}
	for _, es := range ns.Networks {
		if es == nil {
			continue
		}
		es.EndpointID, es.IPAddress, es.Gateway, es.IPPrefixLen, es.DNSNames = "", netip.Addr{}, netip.Addr{}, 0, nil
		es.GlobalIPv6Address, es.GlobalIPv6PrefixLen, es.IPv6Gateway = netip.Addr{}, 0, netip.Addr{}
		if es.IPAMConfig == nil || !es.IPAMConfig.IPv4Address.IsValid() {
			// a generated MAC goes with the address; a requested one stays
			if mac := es.MacAddress; len(mac) == 6 && mac[0] == 0x02 && mac[1] == 0x42 {
				es.MacAddress = nil
			}
		}
	}
}

// restoreNetworking runs after RestoreContainers: endpoints and namespaces
// of containers that are not running any more are released (a crash or a
// reboot ended them), and the running ones get their ports and DNS back.
func (d *Daemon) restoreNetworking(ctx context.Context) {
	if d.net == nil || d.net.mgr == nil {
		return
	}
	keep := map[string]bool{}
	alive := map[string]bool{}
	for _, c := range d.containers.List() {
		c.Lock()
		if c.State.Running && c.NetworkSettings != nil {
			alive[c.ID] = true
			if c.NetworkSettings.SandboxKey != "" {
				keep[c.NetworkSettings.SandboxKey] = true
			}
			d.net.extra.restore(ctx, d, c)
		}
		c.Unlock()
	}
	d.net.mgr.Sweep(ctx, func(id string) bool { return alive[id] })
	sandbox.Sweep(d.net.dir, func(p string) bool { return keep[p] })
	d.net.poolMu.Lock()
	d.net.pool = sandbox.NewPool(d.net.dir, netnsPoolSize)
	d.net.poolMu.Unlock()
}

// getNS takes a prepared namespace from the pool, or makes one.
func (s *netState) getNS() (sandbox.NS, error) {
	s.poolMu.Lock()
	p := s.pool
	s.poolMu.Unlock()
	if p == nil {
		return sandbox.Create(s.dir)
	}
	return p.Get()
}

func (s *netState) takePool() *sandbox.Pool {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	p := s.pool
	s.pool = nil
	return p
}

func (d *Daemon) logNetworkEvent(n *network.Network, action eventtypes.Action, containerID string) {
	attrs := map[string]string{"name": n.Name, "type": n.Driver}
	if containerID != "" {
		attrs["container"] = containerID
	}
	d.events.Publish(eventtypes.Message{
		Type:   eventtypes.NetworkEventType,
		Action: action,
		Actor:  eventtypes.Actor{ID: n.ID, Attributes: attrs},
	})
}

// readHostResolv returns the host's nameservers.
func readHostResolv() ([]string, error) {
	rc, err := sandbox.ReadResolvConf("/etc/resolv.conf")
	return rc.Nameservers, err
}

func addrStrings(as []netip.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

func parseMAC(s string) (ntypes.HardwareAddr, error) {
	m, err := net.ParseMAC(s)
	return ntypes.HardwareAddr(m), err
}

// rewriteResolvConf points a running container's resolv.conf at the
// embedded DNS (in place: the file is bind-mounted) and returns the
// upstream servers. The caller holds c's lock.
func (d *Daemon) rewriteResolvConf(c *container.Container) []string {
	ropts := sandbox.ResolvOpts{
		DNS: addrStrings(c.HostConfig.DNS), DNSSearch: c.HostConfig.DNSSearch, DNSOptions: c.HostConfig.DNSOptions, Internal: true,
	}
	if len(ropts.DNS) == 0 {
		ropts.DNS = d.cfg.DNS
	}
	hostRC, _ := sandbox.ReadResolvConf("/etc/resolv.conf")
	rc, upstream := sandbox.BuildResolvConf(hostRC, ropts)
	if c.ResolvConfPath != "" {
		if err := os.WriteFile(c.ResolvConfPath, rc, 0o644); err != nil {
			log.G(context.Background()).Warn("rewriting resolv.conf", "id", c.ID, "err", err)
		}
	}
	return upstream
}

// networkInfo fills /info's networking fields: the drivers (ipvlan when the
// kernel has it), the firewall backend, and why networking is down if it is.
func (d *Daemon) networkInfo(info *system.Info) {
	if d.net == nil {
		return
	}
	if d.net.mgr == nil {
		info.Warnings = append(info.Warnings, "WARNING: networking is unavailable: containers on networks will not start: "+fmt.Sprint(d.net.err))
		return
	}
	if bridge.IPvlanSupported() == nil {
		info.Plugins.Network = append(info.Plugins.Network, "ipvlan")
		slices.Sort(info.Plugins.Network)
	}
	if d.net.fw != nil {
		info.FirewallBackend = &system.FirewallInfo{Driver: d.net.fw.Name()}
	} else {
		info.Warnings = append(info.Warnings, "WARNING: iptables is disabled: berth adds no firewall rules (no masquerade, no published ports through DNAT)")
	}
}

// renameEndpoints makes the embedded DNS answer a renamed container's new
// name, and its inspect's DNSNames say so.
func (d *Daemon) renameEndpoints(c *container.Container) {
	if d.net == nil || d.net.mgr == nil {
		return
	}
	c.Lock()
	defer c.Unlock()
	name := strings.TrimPrefix(c.Name, "/")
	d.net.mgr.Rename(c.ID, name)
	if c.NetworkSettings == nil {
		return
	}
	for _, es := range c.NetworkSettings.Networks {
		if es != nil && len(es.DNSNames) > 0 {
			es.DNSNames[0] = name
		}
	}
	_ = d.containers.Save(c)
}

package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/internal/atomicfile"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/network/ipam"
)

// The drivers and the predefined networks' names.
const (
	DriverBridge  = "bridge"
	DriverHost    = "host"
	DriverNull    = "null"
	DriverMacvlan = "macvlan"
	DriverIPvlan  = "ipvlan"

	NameBridge = "bridge"
	NameHost   = "host"
	NameNone   = "none"
)

// Docker's bridge driver options.
const (
	OptBridgeName  = "com.docker.network.bridge.name"
	OptICC         = "com.docker.network.bridge.enable_icc"
	OptMasquerade  = "com.docker.network.bridge.enable_ip_masquerade"
	OptHostIP      = "com.docker.network.bridge.host_binding_ipv4"
	OptDefault     = "com.docker.network.bridge.default_bridge"
	OptMTU         = "com.docker.network.driver.mtu"
	OptParent      = "parent"
	OptMacvlanMode = "macvlan_mode"
	OptIPvlanMode  = "ipvlan_mode"
)

// Network is one network's record.
type Network struct {
	ID         string
	Name       string
	Driver     string
	Created    time.Time
	Internal   bool
	Attachable bool
	IPv6       bool
	Options    map[string]string `json:",omitempty"`
	Labels     map[string]string `json:",omitempty"`
	IPAMDriver string            `json:",omitempty"`
	IPAMOpts   map[string]string `json:",omitempty"`
	Subnet     netip.Prefix      `json:",omitzero"`
	// UserSubnet: the subnet was given at create (--ip needs one).
	UserSubnet bool         `json:",omitempty"`
	IPRange    netip.Prefix `json:",omitzero"`
	Gateway    netip.Addr   `json:",omitzero"`
	// V6Config is the IPv6 subnet (--ipv6 --subnet <v6 prefix>), whose
	// addresses endpoints get beside their IPv4 ones.
	V6Config []V6Config `json:",omitempty"`
	Bridge   string     `json:",omitempty"` // bridge driver: the host bridge
	Parent   string     `json:",omitempty"` // macvlan/ipvlan: the parent link
	// DummyParent: no parent was given, so berth made a dummy link for
	// one (dm-<id>), as dockerd does; it goes with the network.
	DummyParent bool `json:",omitempty"`
	MTU         int  `json:",omitempty"`
	ICC         bool
	Masq        bool
	// Endpoints are the attached containers, by container ID.
	Endpoints map[string]*Endpoint `json:",omitempty"`

	pool  *ipam.Pool
	pool6 *ipam.Pool // the first V6Config's
}

// Subnet6 and Gateway6 are the network's IPv6 subnet and gateway, if any.
func (n *Network) Subnet6() (netip.Prefix, netip.Addr) {
	if len(n.V6Config) == 0 {
		return netip.Prefix{}, netip.Addr{}
	}
	return n.V6Config[0].Subnet, n.V6Config[0].Gateway
}

// V6Config is an IPv6 IPAM config kept for inspect.
type V6Config struct {
	Subnet  netip.Prefix `json:",omitzero"`
	Gateway netip.Addr   `json:",omitzero"`
}

// Endpoint is one container's attachment to a network.
type Endpoint struct {
	ID            string
	ContainerID   string
	ContainerName string // without docker's leading "/"
	IP            netip.Addr
	IP6           netip.Addr `json:",omitzero"`
	MAC           string
	IfName        string // inside the container: eth0, eth1, ...
	HostIf        string `json:",omitempty"` // the veth's host end
	NSPath        string
	Aliases       []string `json:",omitempty"`
	DNSNames      []string `json:",omitempty"`
}

// Predefined reports whether the network is bridge, host or none.
func (n *Network) Predefined() bool {
	return n.Name == NameBridge || n.Name == NameHost || n.Name == NameNone
}

// UserDefined reports whether the network has the embedded DNS and
// network-scoped aliases: every network but the predefined ones.
func (n *Network) UserDefined() bool { return !n.Predefined() }

// PrefixLen is the subnet's length (0 without a subnet).
func (n *Network) PrefixLen() int {
	if !n.Subnet.IsValid() {
		return 0
	}
	return n.Subnet.Bits()
}

func (n *Network) clone() *Network {
	c := *n
	c.pool, c.pool6 = nil, nil
	c.Options = maps.Clone(n.Options)
	c.Labels = maps.Clone(n.Labels)
	c.Endpoints = make(map[string]*Endpoint, len(n.Endpoints))
	for k, e := range n.Endpoints {
		ec := *e
		ec.Aliases = slices.Clone(e.Aliases)
		ec.DNSNames = slices.Clone(e.DNSNames)
		c.Endpoints[k] = &ec
	}
	return &c
}

// AddressPool is one of daemon.json's default-address-pools.
type AddressPool struct {
	Base netip.Prefix
	Size int
}

// DefaultPools are dockerd's default address pools.
func DefaultPools() []AddressPool {
	var out []AddressPool
	for i := 17; i <= 31; i++ {
		out = append(out, AddressPool{Base: netip.MustParsePrefix(fmt.Sprintf("172.%d.0.0/16", i)), Size: 16})
	}
	return append(out, AddressPool{Base: netip.MustParsePrefix("192.168.0.0/16"), Size: 20})
}

// Config is the manager's configuration.
type Config struct {
	Root   string // where the records live
	Bridge string // the default bridge's host name (berth0)
	// NoDefaultBridge is dockerd's --bridge=none: there is no default
	// bridge network (a record left by an earlier run is removed once no
	// container uses it).
	NoDefaultBridge bool
	Bip             netip.Prefix // the default bridge's gateway and length; invalid: picked from Pools
	FixedCIDR       netip.Prefix // the default bridge's ip-range
	MTU             int          // the default bridge's MTU (0: the kernel's)
	// NoICC and NoMasquerade turn the default bridge's inter-container
	// traffic and outbound NAT off (daemon.json icc, ip-masq).
	NoICC, NoMasquerade bool
	Pools               []AddressPool
	// HostRoutes returns the prefixes the host routes already (subnets to
	// avoid); nil: none.
	HostRoutes func() ([]netip.Prefix, error)
	// Firewall, when set, gets every bridge network's rules.
	Firewall Firewall
	// Links is the kernel side; tests may replace it.
	Links Links
}

// Manager keeps the networks. Its methods are safe for concurrent use.
type Manager struct {
	cfg Config

	mu   sync.Mutex
	nets map[string]*Network // by ID
	// detaching holds, per container, a channel closed when its
	// background detach (DetachAllAsync) is done.
	detaching map[string]chan struct{}
}

// New loads the records under cfg.Root, makes the predefined networks
// that are missing, and sets every bridge network up on the host (bridge
// link, address, firewall rules): they may be gone after a reboot.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Bridge == "" {
		cfg.Bridge = "berth0"
	}
	if len(cfg.Pools) == 0 {
		cfg.Pools = DefaultPools()
	}
	if cfg.Links == nil {
		return nil, errors.New("network: no link driver")
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, nets: map[string]*Network{}, detaching: map[string]chan struct{}{}}
	ents, err := os.ReadDir(cfg.Root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(cfg.Root, e.Name()))
		if err != nil {
			return nil, err
		}
		var n Network
		if err := json.Unmarshal(data, &n); err != nil {
			log.G(ctx).Warn("skipping unreadable network record", "file", e.Name(), "err", err)
			continue
		}
		if n.Endpoints == nil {
			n.Endpoints = map[string]*Endpoint{}
		}
		m.nets[n.ID] = &n
	}
	if err := m.ensurePredefined(ctx); err != nil {
		return nil, err
	}
	for _, n := range m.nets {
		if n.Subnet.IsValid() {
			if n.pool, err = ipam.New(n.Subnet, n.IPRange, n.Gateway); err != nil {
				return nil, fmt.Errorf("network %s: %w", n.Name, err)
			}
			for _, ep := range n.Endpoints {
				if err := n.pool.Reserve(ep.IP, ep.ID); err != nil {
					log.G(ctx).Warn("endpoint address not restored", "network", n.Name, "container", ep.ContainerID, "err", err)
				}
			}
		}
		if s6, gw6 := n.Subnet6(); s6.IsValid() {
			if n.pool6, err = ipam.New(s6, netip.Prefix{}, gw6); err != nil {
				return nil, fmt.Errorf("network %s: %w", n.Name, err)
			}
			for _, ep := range n.Endpoints {
				if ep.IP6.IsValid() {
					_ = n.pool6.Reserve(ep.IP6, ep.ID)
				}
			}
		}
		if err := m.setUp(ctx, n); err != nil {
			log.G(ctx).Error("network set-up", "network", n.Name, "err", err)
		}
	}
	return m, nil
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (m *Manager) byName(name string) *Network {
	for _, n := range m.nets {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// ensurePredefined makes bridge, host and none when missing, and brings
// the default bridge's record in line with the configuration.
func (m *Manager) ensurePredefined(ctx context.Context) error {
	now := time.Now().UTC()
	for _, p := range []struct{ name, driver string }{{NameHost, DriverHost}, {NameNone, DriverNull}} {
		if m.byName(p.name) == nil {
			n := &Network{ID: newID(), Name: p.name, Driver: p.driver, Created: now, Endpoints: map[string]*Endpoint{}, IPAMDriver: "default"}
			if err := m.save(n); err != nil {
				return err
			}
			m.nets[n.ID] = n
		}
	}
	br := m.byName(NameBridge)
	if m.cfg.NoDefaultBridge {
		if br == nil {
			return nil
		}
		if len(br.Endpoints) > 0 {
			log.G(ctx).Warn("the default bridge is disabled but containers are attached to it: keeping it until they stop")
			return nil
		}
		m.tearDown(ctx, br)
		if err := os.Remove(filepath.Join(m.cfg.Root, br.ID+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the default bridge's record: %w", err)
		}
		delete(m.nets, br.ID)
		return nil
	}
	if br == nil {
		br = &Network{ID: newID(), Name: NameBridge, Driver: DriverBridge, Created: now, Endpoints: map[string]*Endpoint{}, IPAMDriver: "default", ICC: true, Masq: true}
	}
	subnet, gw := br.Subnet, br.Gateway
	if m.cfg.Bip.IsValid() {
		subnet, gw = m.cfg.Bip.Masked(), m.cfg.Bip.Addr()
	} else if !subnet.IsValid() || br.Bridge != m.cfg.Bridge {
		var err error
		if subnet, err = m.pickSubnet(br.ID); err != nil {
			return fmt.Errorf("default bridge: %w", err)
		}
		gw = ipam.DefaultGateway(subnet)
	}
	changed := br.Subnet != subnet || br.Gateway != gw || br.Bridge != m.cfg.Bridge || br.IPRange != m.cfg.FixedCIDR || br.MTU != m.cfg.MTU ||
		br.ICC == m.cfg.NoICC || br.Masq == m.cfg.NoMasquerade
	if changed && len(br.Endpoints) > 0 {
		log.G(ctx).Warn("default bridge configuration changed while containers are attached: keeping the old one until they stop")
		changed = false
	}
	if changed {
		if br.Bridge != "" && br.Bridge != m.cfg.Bridge {
			m.tearDown(ctx, br)
		}
		if br.Bridge == m.cfg.Bridge && (br.ICC == m.cfg.NoICC || br.Masq == m.cfg.NoMasquerade) {
			m.tearDown(ctx, br) // rules of the old settings; setUp adds the new
		}
		br.Subnet, br.Gateway, br.Bridge, br.IPRange, br.MTU = subnet, gw, m.cfg.Bridge, m.cfg.FixedCIDR, m.cfg.MTU
		br.ICC, br.Masq = !m.cfg.NoICC, !m.cfg.NoMasquerade
		mtu := "1500"
		if br.MTU > 0 {
			mtu = strconv.Itoa(br.MTU)
		}
		br.Options = map[string]string{
			OptDefault: "true", OptICC: strconv.FormatBool(br.ICC), OptMasquerade: strconv.FormatBool(br.Masq),
			OptHostIP: "0.0.0.0", OptBridgeName: br.Bridge, OptMTU: mtu,
		}
	}
	if _, ok := m.nets[br.ID]; !ok || changed {
		if err := m.save(br); err != nil {
			return err
		}
		m.nets[br.ID] = br
	}
	return nil
}

// pickSubnet returns the first subnet of the pools that overlaps neither
// a host route nor another network (except skip's).
func (m *Manager) pickSubnet(skip string) (netip.Prefix, error) {
	var taken []netip.Prefix
	if m.cfg.HostRoutes != nil {
		rs, err := m.cfg.HostRoutes()
		if err == nil {
			taken = append(taken, rs...)
		}
	}
	for _, n := range m.nets {
		if n.ID != skip && n.Subnet.IsValid() {
			taken = append(taken, n.Subnet)
		}
	}
	for _, p := range m.cfg.Pools {
		if p.Size < p.Base.Bits() || p.Size > 30 {
			continue
		}
		step := uint32(1) << (32 - p.Size)
		base := p.Base.Masked().Addr().As4()
		start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
		count := uint32(1) << (p.Size - p.Base.Bits())
		for i := uint32(0); i < count; i++ {
			v := start + i*step
			cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), p.Size)
			if !slices.ContainsFunc(taken, cand.Overlaps) {
				return cand, nil
			}
		}
	}
	return netip.Prefix{}, errdefs.New(errdefs.ErrUnavailable, "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
}

func (m *Manager) save(n *Network) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(m.cfg.Root, n.ID+".json"), data, 0o600)
}

// setUp creates a bridge network's link and rules, or a macvlan/ipvlan
// network's dummy parent (idempotent).
func (m *Manager) setUp(ctx context.Context, n *Network) error {
	if n.DummyParent {
		return m.cfg.Links.EnsureDummy(n.Parent)
	}
	if n.Driver != DriverBridge {
		return nil
	}
	addr := netip.Prefix{}
	if n.Gateway.IsValid() {
		addr = netip.PrefixFrom(n.Gateway, n.Subnet.Bits())
	}
	var addr6 netip.Prefix
	if s6, gw6 := n.Subnet6(); s6.IsValid() && gw6.IsValid() {
		addr6 = netip.PrefixFrom(gw6, s6.Bits())
	}
	if err := m.cfg.Links.EnsureBridge(n.Bridge, addr, addr6, n.MTU); err != nil {
		return err
	}
	if m.cfg.Firewall != nil {
		if err := m.cfg.Firewall.AddNetwork(ctx, fwNetwork(n)); err != nil {
			return fmt.Errorf("firewall rules of network %s: %w", n.Name, err)
		}
	}
	return nil
}

// tearDown removes a bridge network's rules and link.
func (m *Manager) tearDown(ctx context.Context, n *Network) {
	if n.DummyParent {
		if err := m.cfg.Links.DeleteLink(n.Parent); err != nil {
			log.G(ctx).Warn("removing dummy parent", "network", n.Name, "link", n.Parent, "err", err)
		}
		return
	}
	if n.Driver != DriverBridge || n.Bridge == "" {
		return
	}
	if m.cfg.Firewall != nil {
		if err := m.cfg.Firewall.RemoveNetwork(ctx, fwNetwork(n)); err != nil {
			log.G(ctx).Warn("removing firewall rules", "network", n.Name, "err", err)
		}
	}
	if err := m.cfg.Links.DeleteLink(n.Bridge); err != nil {
		log.G(ctx).Warn("removing bridge", "network", n.Name, "bridge", n.Bridge, "err", err)
	}
}

// Get finds a network by full ID, name, or unique ID prefix; ErrNotFound
// with dockerd's words otherwise. The result is a copy.
func (m *Manager) Get(ref string) (*Network, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.find(ref)
	if err != nil {
		return nil, err
	}
	return n.clone(), nil
}

func (m *Manager) find(ref string) (*Network, error) {
	if n, ok := m.nets[ref]; ok {
		return n, nil
	}
	if n := m.byName(ref); n != nil {
		return n, nil
	}
	var found []*Network
	if ref != "" {
		for id, n := range m.nets {
			if strings.HasPrefix(id, ref) {
				found = append(found, n)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, errdefs.New(errdefs.ErrNotFound, fmt.Sprintf("network %s not found", ref))
	}
	return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("network %s is ambiguous (%d matches found based on ID prefix)", ref, len(found)))
}

// List returns copies of every network, oldest first.
func (m *Manager) List() []*Network {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Network, 0, len(m.nets))
	for _, n := range m.nets {
		out = append(out, n.clone())
	}
	slices.SortFunc(out, func(a, b *Network) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// CreateRequest is a network create, already decoded from the API.
type CreateRequest struct {
	Name       string
	Driver     string
	Internal   bool
	Attachable bool
	IPv6       bool
	Options    map[string]string
	Labels     map[string]string
	IPAMDriver string
	IPAMOpts   map[string]string
	Configs    []IPAMConfig
}

// IPAMConfig is one requested subnet.
type IPAMConfig struct {
	Subnet  netip.Prefix
	IPRange netip.Prefix
	Gateway netip.Addr
}

// Create makes a network and sets it up on the host. Errors, in
// dockerd's words: a taken name ErrConflict; a predefined driver (host,
// null) ErrForbidden; an overlapping subnet ErrForbidden; bad IPAM
// ErrInvalidParameter; an unknown driver ErrNotFound; ipvlan on a kernel
// without it ErrUnavailable. On error nothing is left.
func (m *Manager) Create(ctx context.Context, req CreateRequest) (*Network, error) {
	if req.Name == "" {
		return nil, errdefs.New(errdefs.ErrInvalidParameter, "network name cannot be empty")
	}
	if req.Driver == "" {
		req.Driver = DriverBridge
	}
	switch req.Driver {
	case DriverBridge, DriverMacvlan:
	case DriverIPvlan:
		if err := m.cfg.Links.IPvlanSupported(); err != nil {
			return nil, errdefs.New(errdefs.ErrUnavailable, fmt.Sprintf("the ipvlan driver is not available: this kernel cannot create ipvlan links (%v)", err))
		}
	case DriverHost, DriverNull:
		return nil, errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("only one instance of %q network is allowed", req.Driver))
	default:
		return nil, errdefs.New(errdefs.ErrNotFound, fmt.Sprintf("plugin %q not found", req.Driver))
	}
	if req.IPAMDriver != "" && req.IPAMDriver != "default" {
		return nil, errdefs.New(errdefs.ErrNotFound, fmt.Sprintf("plugin %q not found", req.IPAMDriver))
	}
	n := &Network{
		ID: newID(), Name: req.Name, Driver: req.Driver, Created: time.Now().UTC(),
		Internal: req.Internal, Attachable: req.Attachable, IPv6: req.IPv6,
		Options: maps.Clone(req.Options), Labels: maps.Clone(req.Labels),
		IPAMDriver: "default", IPAMOpts: maps.Clone(req.IPAMOpts),
		Endpoints: map[string]*Endpoint{}, ICC: true, Masq: true,
	}
	if n.Options == nil {
		n.Options = map[string]string{}
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	var v4 *IPAMConfig
	for i := range req.Configs {
		c := req.Configs[i]
		switch {
		case c.Subnet.IsValid() && c.Subnet.Addr().Is6():
			if !req.IPv6 {
				return nil, errdefs.New(errdefs.ErrInvalidParameter, "IPv6 subnet provided but IPv6 is disabled")
			}
			n.V6Config = append(n.V6Config, V6Config{Subnet: c.Subnet, Gateway: c.Gateway})
		case v4 != nil:
			return nil, errdefs.New(errdefs.ErrInvalidParameter, "berth supports one IPv4 subnet per network")
		case !c.Subnet.IsValid() && (c.Gateway.IsValid() || c.IPRange.IsValid()):
			return nil, errdefs.New(errdefs.ErrInvalidParameter, "invalid pool request: a gateway or ip-range needs a subnet")
		default:
			v4 = &c
		}
	}
	if v, ok := n.Options[OptMTU]; ok {
		mtu, err := strconv.Atoi(v)
		if err != nil || mtu < 68 || mtu > 65535 {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid MTU %q", v))
		}
		n.MTU = mtu
	}
	for _, o := range []struct {
		key string
		dst *bool
	}{{OptICC, &n.ICC}, {OptMasquerade, &n.Masq}} {
		if v, ok := n.Options[o.key]; ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid value %q for option %s", v, o.key))
			}
			*o.dst = b
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byName(req.Name) != nil {
		return nil, errdefs.New(errdefs.ErrConflict, fmt.Sprintf("network with name %s already exists", req.Name))
	}
	switch n.Driver {
	case DriverBridge:
		n.Bridge = n.Options[OptBridgeName]
		if n.Bridge == "" {
			n.Bridge = "br-" + n.ID[:12]
		}
		if len(n.Bridge) > 15 {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid bridge name %q: at most 15 characters", n.Bridge))
		}
		for _, o := range m.nets {
			if o.Bridge == n.Bridge {
				return nil, errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("bridge name %s is already used by network %s", n.Bridge, o.Name))
			}
		}
	case DriverMacvlan, DriverIPvlan:
		n.Parent = n.Options[OptParent]
		if n.Parent == "" {
			// dockerd's answer to no parent: a dummy link of its own, so
			// the containers reach each other and nothing else.
			n.Parent, n.DummyParent = "dm-"+n.ID[:12], true
		} else if !m.cfg.Links.LinkExists(n.Parent) {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("-o parent interface was not found on the host: %s", n.Parent))
		}
		if mode := n.Options[OptMacvlanMode]; n.Driver == DriverMacvlan && mode != "" && mode != "bridge" {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("macvlan mode %q is not supported: berth has bridge mode", mode))
		}
		if mode := n.Options[OptIPvlanMode]; n.Driver == DriverIPvlan && mode != "" && mode != "l2" {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("ipvlan mode %q is not supported: berth has l2 mode", mode))
		}
	}
	if v4 != nil {
		n.Subnet, n.IPRange, n.Gateway, n.UserSubnet = v4.Subnet, v4.IPRange, v4.Gateway, true
		if n.Subnet.Masked() != n.Subnet {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid subnet %s : it must be %s", n.Subnet, n.Subnet.Masked()))
		}
		if n.Driver == DriverBridge {
			for _, o := range m.nets {
				if o.Subnet.IsValid() && o.Subnet.Overlaps(n.Subnet) {
					return nil, errdefs.New(errdefs.ErrForbidden, "invalid pool request: Pool overlaps with other one on this address space")
				}
			}
		}
	} else {
		var err error
		if n.Subnet, err = m.pickSubnet(""); err != nil {
			return nil, err
		}
	}
	if !n.Gateway.IsValid() {
		n.Gateway = ipam.DefaultGateway(n.Subnet)
	}
	pool, err := ipam.New(n.Subnet, n.IPRange, n.Gateway)
	if err != nil {
		return nil, err
	}
	n.pool = pool
	if n.IPv6 {
		if len(n.V6Config) == 0 {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, "berth needs an IPv6 subnet for --ipv6: add --subnet with an IPv6 prefix (such as fd00:1::/64)")
		}
		c := &n.V6Config[0]
		if c.Subnet.Masked() != c.Subnet {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid subnet %s : it must be %s", c.Subnet, c.Subnet.Masked()))
		}
		if n.Driver == DriverBridge {
			for _, o := range m.nets {
				if s6, _ := o.Subnet6(); s6.IsValid() && s6.Overlaps(c.Subnet) {
					return nil, errdefs.New(errdefs.ErrForbidden, "invalid pool request: Pool overlaps with other one on this address space")
				}
			}
		}
		if !c.Gateway.IsValid() {
			c.Gateway = ipam.DefaultGateway(c.Subnet)
		}
		if n.pool6, err = ipam.New(c.Subnet, netip.Prefix{}, c.Gateway); err != nil {
			return nil, err
		}
	}
	if err := m.setUp(ctx, n); err != nil {
		m.tearDown(ctx, n)
		return nil, fmt.Errorf("creating network %s: %w", n.Name, err)
	}
	if err := m.save(n); err != nil {
		m.tearDown(ctx, n)
		return nil, err
	}
	m.nets[n.ID] = n
	return n.clone(), nil
}

// Remove deletes a network with no endpoints. A predefined network is
// ErrForbidden, one in use ErrForbidden (dockerd's "has active endpoints").
func (m *Manager) Remove(ctx context.Context, ref string) (*Network, error) {
	m.waitAllDetaches() // endpoints of stopped containers on their way out
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.find(ref)
	if err != nil {
		return nil, err
	}
	if n.Predefined() {
		return nil, errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("%s is a pre-defined network and cannot be removed", n.Name))
	}
	if len(n.Endpoints) > 0 {
		return nil, errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("error while removing network: network %s id %s has active endpoints", n.Name, n.ID))
	}
	m.tearDown(ctx, n)
	if err := os.Remove(filepath.Join(m.cfg.Root, n.ID+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	delete(m.nets, n.ID)
	return n.clone(), nil
}

// AttachOpts is one container's request to join a network.
type AttachOpts struct {
	ContainerID   string
	ContainerName string // without "/"
	NSPath        string
	IfName        string
	IP            netip.Addr       // requested (--ip); invalid: allocate
	IP6           netip.Addr       // requested (--ip6), on networks with IPv6
	MAC           net.HardwareAddr // requested (--mac-address); nil: docker's from the IP
	Aliases       []string
	DefaultRoute  bool
}

// Attach allocates the container an address on the network and puts an
// interface in its namespace. A container already attached is
// ErrForbidden; a taken --ip ErrConflict ("Address already in use"); an
// --ip outside the subnet ErrInvalidParameter.
func (m *Manager) Attach(ctx context.Context, ref string, o AttachOpts) (Endpoint, *Network, error) {
	m.waitDetach(o.ContainerID)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.find(ref)
	if err != nil {
		return Endpoint{}, nil, err
	}
	if n.Driver == DriverHost || n.Driver == DriverNull {
		return Endpoint{}, nil, errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("cannot attach an endpoint to the %s network", n.Name))
	}
	if _, ok := n.Endpoints[o.ContainerID]; ok {
		return Endpoint{}, nil, errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("endpoint with name %s already exists in network %s", o.ContainerName, n.Name))
	}
	ep := &Endpoint{
		ID: newID(), ContainerID: o.ContainerID, ContainerName: o.ContainerName,
		IfName: o.IfName, NSPath: o.NSPath, Aliases: slices.Clone(o.Aliases),
	}
	if n.UserDefined() {
		ep.DNSNames = append([]string{o.ContainerName}, o.Aliases...)
		ep.DNSNames = append(ep.DNSNames, shortID(o.ContainerID))
	}
	ip, err := n.pool.Allocate(ep.ID, o.IP)
	if err != nil {
		return Endpoint{}, nil, err
	}
	ep.IP = ip
	if n.pool6 != nil {
		ip6, err := n.pool6.Allocate(ep.ID, o.IP6)
		if err != nil {
			n.pool.Release(ip, ep.ID)
			return Endpoint{}, nil, err
		}
		ep.IP6 = ip6
	}
	mac := o.MAC
	if mac == nil {
		mac = macFromIP(ip)
	}
	ep.MAC = mac.String()
	iface := Iface{
		NSPath: o.NSPath, Name: o.IfName, Addr: netip.PrefixFrom(ip, n.Subnet.Bits()),
		Gateway: n.Gateway, DefaultRoute: o.DefaultRoute && !n.Internal, MAC: mac, MTU: n.MTU,
	}
	if ep.IP6.IsValid() {
		s6, gw6 := n.Subnet6()
		iface.Addr6, iface.Gateway6 = netip.PrefixFrom(ep.IP6, s6.Bits()), gw6
	}
	switch n.Driver {
	case DriverBridge:
		ep.HostIf = "veth" + ep.ID[:7]
		err = m.cfg.Links.AddVeth(n.Bridge, ep.HostIf, iface)
	case DriverMacvlan:
		err = m.cfg.Links.AddMacvlan(n.Parent, iface)
	case DriverIPvlan:
		err = m.cfg.Links.AddIPvlan(n.Parent, iface)
	}
	if err != nil {
		n.pool.Release(ip, ep.ID)
		if n.pool6 != nil {
			n.pool6.Release(ep.IP6, ep.ID)
		}
		return Endpoint{}, nil, fmt.Errorf("failed to set up container networking: %w", err)
	}
	n.Endpoints[o.ContainerID] = ep
	if err := m.save(n); err != nil {
		log.G(ctx).Error("saving network record", "network", n.Name, "err", err)
	}
	return *ep, n.clone(), nil
}

// Detach removes the container's interface from the network and frees its
// address. Not attached is ErrForbidden in dockerd's words.
func (m *Manager) Detach(ctx context.Context, ref, containerID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.find(ref)
	if err != nil {
		return err
	}
	ep, ok := n.Endpoints[containerID]
	if !ok {
		return errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("container %s is not connected to network %s", containerID, n.Name))
	}
	m.detachLocked(ctx, n, ep)
	return nil
}

func (m *Manager) detachLocked(ctx context.Context, n *Network, ep *Endpoint) {
	m.removeLink(ctx, n, ep)
	m.forgetLocked(ctx, n, ep)
}

// removeLink deletes the endpoint's link (the veth's host end takes its
// peer along). It needs no lock: the endpoint's fields do not change.
func (m *Manager) removeLink(ctx context.Context, n *Network, ep *Endpoint) {
	var err error
	if ep.HostIf != "" {
		err = m.cfg.Links.DeleteLink(ep.HostIf)
	} else {
		err = m.cfg.Links.RemoveInside(ep.NSPath, ep.IfName)
	}
	if err != nil {
		log.G(ctx).Warn("removing endpoint link", "network", n.Name, "container", ep.ContainerID, "err", err)
	}
}

// forgetLocked frees the endpoint's address and drops it from the record.
func (m *Manager) forgetLocked(ctx context.Context, n *Network, ep *Endpoint) {
	if n.pool != nil {
		n.pool.Release(ep.IP, ep.ID)
	}
	if n.pool6 != nil && ep.IP6.IsValid() {
		n.pool6.Release(ep.IP6, ep.ID)
	}
	if cur, ok := n.Endpoints[ep.ContainerID]; ok && cur.ID == ep.ID {
		delete(n.Endpoints, ep.ContainerID)
	}
	if err := m.save(n); err != nil {
		log.G(ctx).Error("saving network record", "network", n.Name, "err", err)
	}
}

// DetachAll removes the container from every network it is on.
func (m *Manager) DetachAll(ctx context.Context, containerID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nets {
		if ep, ok := n.Endpoints[containerID]; ok {
			m.detachLocked(ctx, n, ep)
		}
	}
}

// DetachAllAsync removes the container from every network it is on, with
// the kernel's part in the background: deleting a veth waits for the
// kernel's RCU grace periods (tens of ms under load), which would
// otherwise delay the exit every `run` waits for. The addresses are freed
// once the links are gone, then after runs (e.g. to delete the namespace).
// An Attach of the same container, Remove, Prune and Shutdown wait for it.
func (m *Manager) DetachAllAsync(ctx context.Context, containerID string, after func()) {
	type one struct {
		n  *Network
		ep *Endpoint
	}
	m.mu.Lock()
	var eps []one
	for _, n := range m.nets {
		if ep, ok := n.Endpoints[containerID]; ok {
			eps = append(eps, one{n, ep})
			// Gone from inspect, list and the in-use checks at once, as
			// with dockerd; the address stays taken until the link is
			// gone, and the record is saved then (a crash before that
			// is what the start-up sweep is for).
			delete(n.Endpoints, containerID)
		}
	}
	if prev := m.detaching[containerID]; prev != nil {
		m.mu.Unlock()
		<-prev
		m.mu.Lock()
	}
	done := make(chan struct{})
	m.detaching[containerID] = done
	m.mu.Unlock()
	go func() {
		for _, e := range eps {
			m.removeLink(ctx, e.n, e.ep)
		}
		if after != nil {
			after()
		}
		m.mu.Lock()
		for _, e := range eps {
			m.forgetLocked(ctx, e.n, e.ep)
		}
		delete(m.detaching, containerID)
		close(done)
		m.mu.Unlock()
	}()
}

// waitAllDetaches waits for the background detaches started so far.
func (m *Manager) waitAllDetaches() {
	m.mu.Lock()
	chs := make([]chan struct{}, 0, len(m.detaching))
	for _, ch := range m.detaching {
		chs = append(chs, ch)
	}
	m.mu.Unlock()
	for _, ch := range chs {
		<-ch
	}
}

func (m *Manager) waitDetach(containerID string) {
	m.mu.Lock()
	ch := m.detaching[containerID]
	m.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// Rename gives the container's endpoints its new name (DNS answers it).
func (m *Manager) Rename(containerID, name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nets {
		ep, ok := n.Endpoints[containerID]
		if !ok {
			continue
		}
		if len(ep.DNSNames) > 0 && ep.DNSNames[0] == ep.ContainerName {
			ep.DNSNames[0] = name
		}
		ep.ContainerName = name
	}
}

// Endpoints returns the container's endpoints by network ID.
func (m *Manager) Endpoints(containerID string) map[string]Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Endpoint{}
	for id, n := range m.nets {
		if ep, ok := n.Endpoints[containerID]; ok {
			out[id] = *ep
		}
	}
	return out
}

// Prune removes the user-defined networks without endpoints that keep
// accepts, and returns their names.
func (m *Manager) Prune(ctx context.Context, keep func(*Network) bool) []*Network {
	m.waitAllDetaches()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Network
	for _, n := range m.nets {
		if n.Predefined() || len(n.Endpoints) > 0 || (keep != nil && keep(n.clone())) {
			continue
		}
		m.tearDown(ctx, n)
		if err := os.Remove(filepath.Join(m.cfg.Root, n.ID+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.G(ctx).Warn("removing network record", "network", n.Name, "err", err)
			continue
		}
		delete(m.nets, n.ID)
		out = append(out, n.clone())
	}
	return out
}

// Sweep drops the endpoints of containers that alive does not accept (a
// crash or a reboot ended them without a detach), removing their links.
func (m *Manager) Sweep(ctx context.Context, alive func(containerID string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nets {
		for id, ep := range n.Endpoints {
			if !alive(id) {
				log.G(ctx).Info("releasing a stale endpoint", "network", n.Name, "container", id, "ip", ep.IP)
				m.detachLocked(ctx, n, ep)
			}
		}
	}
}

// Shutdown removes the host side of every bridge network that has no
// endpoint (links and rules; the records stay and New sets them up
// again), for a clean stop with nothing running. Networks with endpoints
// stay as they are (live restore).
func (m *Manager) Shutdown(ctx context.Context) {
	m.waitAllDetaches()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nets {
		if len(n.Endpoints) == 0 {
			m.tearDown(ctx, n)
		}
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// macFromIP is docker's generated MAC: 02:42 then the IPv4 address.
func macFromIP(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

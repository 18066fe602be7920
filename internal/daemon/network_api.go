package daemon

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	ntypes "github.com/moby/moby/api/types/network"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/network"
)

// The network router's Backend.

// NetworkCreate makes a user-defined network.
func (d *Daemon) NetworkCreate(ctx context.Context, req ntypes.CreateRequest) (ntypes.CreateResponse, error) {
	mgr, err := d.netReady()
	if err != nil {
		return ntypes.CreateResponse{}, err
	}
	switch req.Name {
	case network.NameBridge, network.NameHost, network.NameNone, "default":
		return ntypes.CreateResponse{}, errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("%s is a pre-defined network and cannot be created", req.Name))
	}
	if req.Scope != "" && req.Scope != "local" {
		return ntypes.CreateResponse{}, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("scope %q is not supported: berth networks are local", req.Scope))
	}
	if req.ConfigOnly || req.ConfigFrom != nil || req.Ingress {
		return ntypes.CreateResponse{}, errdefs.New(errdefs.ErrNotImplemented, "config-only, config-from and ingress networks are not supported by berth")
	}
	if req.EnableIPv4 != nil && !*req.EnableIPv4 {
		return ntypes.CreateResponse{}, errdefs.New(errdefs.ErrInvalidParameter, "berth networks need IPv4")
	}
	cr := network.CreateRequest{
		Name: req.Name, Driver: req.Driver, Internal: req.Internal, Attachable: req.Attachable,
		IPv6: req.EnableIPv6 != nil && *req.EnableIPv6, Options: req.Options, Labels: req.Labels,
	}
	if req.IPAM != nil {
		cr.IPAMDriver, cr.IPAMOpts = req.IPAM.Driver, req.IPAM.Options
		for _, c := range req.IPAM.Config {
			cr.Configs = append(cr.Configs, network.IPAMConfig{Subnet: c.Subnet, IPRange: c.IPRange, Gateway: c.Gateway})
		}
	}
	n, err := mgr.Create(ctx, cr)
	if err != nil {
		return ntypes.CreateResponse{}, err
	}
	d.logNetworkEvent(n, eventtypes.ActionCreate, "")
	log.G(ctx).Info("network created", "name", n.Name, "id", n.ID, "subnet", n.Subnet)
	return ntypes.CreateResponse{ID: n.ID}, nil
}

// toAPI renders a network in docker's shape.
func toAPI(n *network.Network) ntypes.Network {
	out := ntypes.Network{
		Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
		EnableIPv4: true, EnableIPv6: n.IPv6, Internal: n.Internal, Attachable: n.Attachable,
		Options: maps.Clone(n.Options), Labels: maps.Clone(n.Labels),
		IPAM: ntypes.IPAM{Driver: "default", Options: maps.Clone(n.IPAMOpts), Config: []ntypes.IPAMConfig{}},
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if n.Driver == network.DriverHost || n.Driver == network.DriverNull {
		out.EnableIPv4 = false
	}
	if n.Subnet.IsValid() {
		out.IPAM.Config = append(out.IPAM.Config, ntypes.IPAMConfig{Subnet: n.Subnet, IPRange: n.IPRange, Gateway: n.Gateway})
	}
	for _, v6 := range n.V6Config {
		out.IPAM.Config = append(out.IPAM.Config, ntypes.IPAMConfig{Subnet: v6.Subnet, Gateway: v6.Gateway})
	}
	return out
}

// NetworkList lists networks passing filters (driver, id, label, name,
// scope, type, dangling), as dockerd.
func (d *Daemon) NetworkList(ctx context.Context, filters map[string][]string) ([]ntypes.Summary, error) {
	mgr, err := d.netReady()
	if err != nil {
		return nil, err
	}
	for k := range filters {
		switch k {
		case "driver", "id", "label", "name", "scope", "type", "dangling":
		default:
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	for _, v := range filters["type"] {
		if v != "custom" && v != "builtin" {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter: 'type'='%s'", v))
		}
	}
	used := d.networksInUse()
	out := []ntypes.Summary{}
	for _, n := range mgr.List() {
		if !matchNetwork(filters, n, used) {
			continue
		}
		out = append(out, ntypes.Summary{Network: toAPI(n)})
	}
	return out, nil
}

// networksInUse are the IDs of the networks some container is configured
// on (running or not), for the dangling filter and prune.
func (d *Daemon) networksInUse() map[string]bool {
	used := map[string]bool{}
	for _, c := range d.containers.List() {
		c.Lock()
		if c.NetworkSettings != nil {
			for _, es := range c.NetworkSettings.Networks {
				if es != nil && es.NetworkID != "" {
					used[es.NetworkID] = true
				}
			}
		}
		c.Unlock()
	}
	return used
}

func matchNetwork(f map[string][]string, n *network.Network, used map[string]bool) bool {
	anyOf := func(key string, match func(v string) bool) bool {
		vs := f[key]
		return len(vs) == 0 || slices.ContainsFunc(vs, match)
	}
	return anyOf("driver", func(v string) bool { return n.Driver == v }) &&
		anyOf("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		anyOf("name", func(v string) bool { return strings.Contains(n.Name, v) }) &&
		anyOf("scope", func(v string) bool { return v == "local" }) &&
		anyOf("type", func(v string) bool { return (v == "builtin") == n.Predefined() }) &&
		anyOf("dangling", func(v string) bool {
			dangling := !n.Predefined() && len(n.Endpoints) == 0 && !used[n.ID]
			return (v == "true" || v == "1") == dangling
		}) &&
		anyOf("label", func(v string) bool {
			k, val, hasVal := strings.Cut(v, "=")
			got, ok := n.Labels[k]
			return ok && (!hasVal || got == val)
		})
}

// NetworkInspect returns one network with its attached containers.
func (d *Daemon) NetworkInspect(ctx context.Context, ref string) (ntypes.Inspect, error) {
	mgr, err := d.netReady()
	if err != nil {
		return ntypes.Inspect{}, err
	}
	n, err := mgr.Get(ref)
	if err != nil {
		return ntypes.Inspect{}, err
	}
	out := ntypes.Inspect{Network: toAPI(n), Containers: map[string]ntypes.EndpointResource{}}
	for id, ep := range n.Endpoints {
		r := ntypes.EndpointResource{Name: ep.ContainerName, EndpointID: ep.ID}
		if mac, err := parseMAC(ep.MAC); err == nil {
			r.MacAddress = mac
		}
		if ep.IP.IsValid() {
			r.IPv4Address = netip.PrefixFrom(ep.IP, n.PrefixLen())
		}
		if s6, _ := n.Subnet6(); ep.IP6.IsValid() {
			r.IPv6Address = netip.PrefixFrom(ep.IP6, s6.Bits())
		}
		out.Containers[id] = r
	}
	return out, nil
}

// NetworkRemove removes a user-defined network that no running container
// is on.
func (d *Daemon) NetworkRemove(ctx context.Context, ref string) error {
	mgr, err := d.netReady()
	if err != nil {
		return err
	}
	n, err := mgr.Remove(ctx, ref)
	if err != nil {
		return err
	}
	d.logNetworkEvent(n, eventtypes.ActionDestroy, "")
	log.G(ctx).Info("network removed", "name", n.Name, "id", n.ID)
	return nil
}

// NetworksPrune removes the user-defined networks no container is
// configured on; filters until and label/label! narrow it.
func (d *Daemon) NetworksPrune(ctx context.Context, filters map[string][]string) (ntypes.PruneReport, error) {
	rep := ntypes.PruneReport{NetworksDeleted: []string{}}
	mgr, err := d.netReady()
	if err != nil {
		return rep, err
	}
	for k := range filters {
		switch k {
		case "until", "label", "label!":
		default:
			return rep, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	var until time.Time
	if vs := filters["until"]; len(vs) > 0 {
		t, err := parseUntil(vs[0])
		if err != nil {
			return rep, err
		}
		until = t
	}
	used := d.networksInUse()
	removed := mgr.Prune(ctx, func(n *network.Network) bool {
		if used[n.ID] {
			return true
		}
		if !until.IsZero() && !n.Created.Before(until) {
			return true
		}
		for _, l := range filters["label"] {
			k, v, hasV := strings.Cut(l, "=")
			got, ok := n.Labels[k]
			if !ok || (hasV && got != v) {
				return true
			}
		}
		for _, l := range filters["label!"] {
			k, v, hasV := strings.Cut(l, "=")
			got, ok := n.Labels[k]
			if ok && (!hasV || got == v) {
				return true
			}
		}
		return false
	})
	for _, n := range removed {
		rep.NetworksDeleted = append(rep.NetworksDeleted, n.Name)
		d.logNetworkEvent(n, eventtypes.ActionDestroy, "")
	}
	d.events.Publish(eventtypes.Message{Type: eventtypes.NetworkEventType, Action: eventtypes.ActionPrune,
		Actor: eventtypes.Actor{Attributes: map[string]string{"reclaimed": "0"}}})
	return rep, nil
}

// parseUntil reads a prune's until: a Unix timestamp, an RFC 3339 time or
// a duration before now.
func parseUntil(v string) (time.Time, error) {
	if dur, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-dur), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	var sec, nsec int64
	if _, err := fmt.Sscanf(v, "%d.%d", &sec, &nsec); err == nil {
		return time.Unix(sec, nsec), nil
	}
	if _, err := fmt.Sscanf(v, "%d", &sec); err == nil {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter 'until=%s'", v))
}

// NetworkConnect connects a container to a network: at once when it runs
// (a new interface), else at its next start.
func (d *Daemon) NetworkConnect(ctx context.Context, ref string, req ntypes.ConnectRequest) error {
	mgr, err := d.netReady()
	if err != nil {
		return err
	}
	n, err := mgr.Get(ref)
	if err != nil {
		return err
	}
	c, err := d.getContainer(req.Container)
	if err != nil {
		return err
	}
	c.Lock()
	defer c.Unlock()
	switch networkKind(c.HostConfig.NetworkMode) {
	case netHost:
		return errdefs.New(errdefs.ErrForbidden, "container cannot be disconnected from host network or connected to host network")
	case netNone:
		return errdefs.New(errdefs.ErrForbidden, "container cannot be connected to multiple networks with one of the networks in private (none) mode")
	case netContainer:
		return errdefs.New(errdefs.ErrForbidden, "container sharing network namespace with another container or host cannot be connected to any other network")
	}
	if n.Driver == network.DriverHost {
		return errdefs.New(errdefs.ErrForbidden, "container cannot be disconnected from host network or connected to host network")
	}
	if n.Driver == network.DriverNull {
		return errdefs.New(errdefs.ErrForbidden, "container cannot be connected to multiple networks with one of the networks in private (none) mode")
	}
	if c.NetworkSettings == nil {
		c.NetworkSettings = &ctypes.NetworkSettings{Networks: map[string]*ntypes.EndpointSettings{}, Ports: ntypes.PortMap{}}
	}
	if _, ok := c.NetworkSettings.Networks[n.Name]; ok {
		return errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("endpoint with name %s already exists in network %s", strings.TrimPrefix(c.Name, "/"), n.Name))
	}
	es := &ntypes.EndpointSettings{}
	if req.EndpointConfig != nil {
		es = req.EndpointConfig.Copy()
	}
	if err := checkEndpointConfig(n, es); err != nil {
		return err
	}
	es.NetworkID = n.ID
	if c.State.Running && c.NetworkSettings.SandboxKey != "" {
		used := map[string]bool{}
		for _, ep := range mgr.Endpoints(c.ID) {
			used[ep.IfName] = true
		}
		ifName := ""
		for i := 0; ; i++ {
			if ifName = fmt.Sprintf("eth%d", i); !used[ifName] {
				break
			}
		}
		if _, err := d.attachOne(ctx, mgr, c, n, es, ifName, c.NetworkSettings.SandboxKey, false); err != nil {
			return err
		}
		d.addSelfHosts(ctx, c, es)
		if n.UserDefined() && !d.hasDNS(c.ID) {
			// As dockerd: the container now asks the embedded DNS.
			ups := d.rewriteResolvConf(c)
			if err := d.net.extra.startDNS(ctx, d, c, ups); err != nil {
				log.G(ctx).Warn("embedded DNS for a connected network", "id", c.ID, "err", err)
			}
		}
	}
	c.NetworkSettings.Networks[n.Name] = es
	// (a stopped container's connect event comes with its start, as
	// dockerd's)
	return d.containers.Save(c)
}

func (d *Daemon) hasDNS(id string) bool {
	d.net.extra.mu.Lock()
	defer d.net.extra.mu.Unlock()
	return d.net.extra.dnss[id] != nil
}

// NetworkDisconnect disconnects a container from a network; a running
// one loses the interface at once.
func (d *Daemon) NetworkDisconnect(ctx context.Context, ref string, req ntypes.DisconnectRequest) error {
	mgr, err := d.netReady()
	if err != nil {
		return err
	}
	n, nerr := mgr.Get(ref)
	c, err := d.getContainer(req.Container)
	if err != nil {
		if nerr == nil && req.Force {
			// A container gone without its endpoint: force drops it.
			if mgr.Detach(ctx, n.ID, req.Container) == nil {
				return nil
			}
		}
		return err
	}
	if nerr != nil {
		return nerr
	}
	c.Lock()
	defer c.Unlock()
	if networkKind(c.HostConfig.NetworkMode) == netHost || n.Driver == network.DriverHost {
		return errdefs.New(errdefs.ErrForbidden, "container cannot be disconnected from host network or connected to host network")
	}
	var es *ntypes.EndpointSettings
	if c.NetworkSettings != nil {
		es = c.NetworkSettings.Networks[n.Name]
	}
	if es == nil {
		return errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("container %s is not connected to network %s", c.ID, n.Name))
	}
	if es.EndpointID != "" {
		if err := mgr.Detach(ctx, n.ID, c.ID); err != nil && !req.Force {
			return err
		}
	}
	delete(c.NetworkSettings.Networks, n.Name)
	if string(c.HostConfig.NetworkMode) == n.Name || (n.Name == network.NameBridge && primaryNetwork(c.HostConfig.NetworkMode) == network.NameBridge) {
		// Like dockerd: the mode names a network the container left.
		if len(c.NetworkSettings.Networks) == 0 {
			c.HostConfig.NetworkMode = "none"
		} else {
			names := slices.Sorted(maps.Keys(c.NetworkSettings.Networks))
			c.HostConfig.NetworkMode = ctypes.NetworkMode(names[0])
		}
	}
	if err := d.containers.Save(c); err != nil {
		return err
	}
	d.logNetworkEvent(n, eventtypes.ActionDisconnect, c.ID)
	return nil
}

// containerNetworksFilter matches ps's network filter: a network's name or
// ID (prefix) among the container's networks.
func containerOnNetwork(c *container.Container, v string) bool {
	if c.NetworkSettings == nil {
		return false
	}
	for name, es := range c.NetworkSettings.Networks {
		if name == v || (es != nil && es.NetworkID != "" && strings.HasPrefix(es.NetworkID, v)) {
			return true
		}
	}
	return false
}

// addSelfHosts appends the container's new addresses (a live connect) to
// its /etc/hosts with its hostname, as dockerd does. The file is
// bind-mounted, so it is written in place. c must be locked.
func (d *Daemon) addSelfHosts(ctx context.Context, c *container.Container, es *ntypes.EndpointSettings) {
	if c.HostsPath == "" {
		return
	}
	hostname := c.Config.Hostname
	if hostname == "" {
		hostname = container.ShortID(c.ID)
	}
	names := hostname
	if dn := c.Config.Domainname; dn != "" {
		names = hostname + "." + dn + " " + hostname
	}
	var add strings.Builder
	for _, ip := range []netip.Addr{es.IPAddress, es.GlobalIPv6Address} {
		if ip.IsValid() {
			fmt.Fprintf(&add, "%s\t%s\n", ip, names)
		}
	}
	if add.Len() == 0 {
		return
	}
	f, err := os.OpenFile(c.HostsPath, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.WriteString(add.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.G(ctx).Warn("adding a connected network's address to /etc/hosts", "id", c.ID, "err", err)
	}
}

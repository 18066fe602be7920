package container

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/pflag"
)

// netOptions are run/create's networking flags.
type netOptions struct {
	ip         string
	ip6        string
	macAddress string
	aliases    []string
	dns        []string
	dnsSearch  []string
	dnsOptions []string
	addHosts   []string
	links      []string
	publish    []string
	publishAll bool

	// config is what parse made of them, for the create request.
	config *network.NetworkingConfig
}

func addNetworkFlags(f *pflag.FlagSet, o *netOptions) {
	f.StringVar(&o.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	f.StringVar(&o.ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	f.StringVar(&o.macAddress, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	f.StringArrayVar(&o.aliases, "network-alias", nil, "Add network-scoped alias for the container")
	f.StringArrayVar(&o.dns, "dns", nil, "Set custom DNS servers")
	f.StringArrayVar(&o.dnsSearch, "dns-search", nil, "Set custom DNS search domains")
	f.StringArrayVar(&o.dnsOptions, "dns-option", nil, "Set DNS options")
	f.StringArrayVar(&o.dnsOptions, "dns-opt", nil, "Set DNS options")
	_ = f.MarkHidden("dns-opt")
	f.StringArrayVar(&o.addHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	f.StringArrayVar(&o.links, "link", nil, "Add link to another container")
	f.StringArrayVarP(&o.publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
}

// apply fills the HostConfig and Config fields of the networking flags and
// returns the endpoint settings for the network the mode names, as the
// docker CLI sends them.
func (o *netOptions) apply(cfg *container.Config, hc *container.HostConfig) error {
	for _, s := range o.dns {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return flagError{fmt.Sprintf("invalid argument %q for \"--dns\" flag: %s is not an ip address", s, s)}
		}
		hc.DNS = append(hc.DNS, a)
	}
	hc.DNSSearch = o.dnsSearch
	hc.DNSOptions = o.dnsOptions
	for _, h := range o.addHosts {
		name, ip, ok := strings.Cut(h, "=")
		if !ok {
			name, ip, ok = strings.Cut(h, ":")
		}
		if !ok || name == "" || ip == "" {
			return flagError{fmt.Sprintf("invalid argument %q for \"--add-host\" flag: bad format for add-host: %q", h, h)}
		}
		hc.ExtraHosts = append(hc.ExtraHosts, name+":"+ip)
	}
	for _, l := range o.links {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		hc.Links = append(hc.Links, name+":"+alias)
	}
	hc.PublishAllPorts = o.publishAll
	for _, p := range o.publish {
		if err := addPublish(cfg, hc, p); err != nil {
			return err
		}
	}
	es := &network.EndpointSettings{Aliases: o.aliases}
	set := len(o.aliases) > 0
	if o.ip != "" {
		a, err := netip.ParseAddr(o.ip)
		if err != nil || !a.Is4() {
			return flagError{fmt.Sprintf("invalid argument %q for \"--ip\" flag: invalid IPv4 address", o.ip)}
		}
		es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: a}
		set = true
	}
	if o.ip6 != "" {
		a, err := netip.ParseAddr(o.ip6)
		if err != nil || !a.Is6() {
			return flagError{fmt.Sprintf("invalid argument %q for \"--ip6\" flag: invalid IPv6 address", o.ip6)}
		}
		if es.IPAMConfig == nil {
			es.IPAMConfig = &network.EndpointIPAMConfig{}
		}
		es.IPAMConfig.IPv6Address = a
		set = true
	}
	if o.macAddress != "" {
		m, err := net.ParseMAC(o.macAddress)
		if err != nil {
			return flagError{fmt.Sprintf("%s is not a valid mac address", o.macAddress)}
		}
		es.MacAddress = network.HardwareAddr(m)
		set = true
	}
	o.config = nil
	if set {
		mode := string(hc.NetworkMode)
		if mode == "" {
			mode = "default"
		}
		o.config = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{mode: es}}
	}
	return nil
}

// addPublish parses one -p: [ip:][hostPort:]containerPort[/proto], where
// either port may be a range.
func addPublish(cfg *container.Config, hc *container.HostConfig, spec string) error {
	bad := func() error {
		return flagError{fmt.Sprintf("invalid argument %q for \"-p, --publish\" flag: invalid port specification: %q", spec, spec)}
	}
	rest, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	var hostIP, hostPort, ctrPort string
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 1:
		ctrPort = parts[0]
	case 2:
		hostPort, ctrPort = parts[0], parts[1]
	case 3:
		hostIP, hostPort, ctrPort = parts[0], parts[1], parts[2]
	default:
		// an IPv6 host address in brackets
		i := strings.LastIndex(rest, "]:")
		if !strings.HasPrefix(rest, "[") || i < 0 {
			return bad()
		}
		hostIP = rest[1:i]
		hp := strings.Split(rest[i+2:], ":")
		if len(hp) != 2 {
			return bad()
		}
		hostPort, ctrPort = hp[0], hp[1]
	}
	var hip netip.Addr
	if hostIP != "" {
		a, err := netip.ParseAddr(strings.Trim(hostIP, "[]"))
		if err != nil {
			return flagError{fmt.Sprintf("invalid argument %q for \"-p, --publish\" flag: invalid IP address: %s", spec, hostIP)}
		}
		hip = a
	}
	cr, err := network.ParsePortRange(ctrPort + "/" + proto)
	if err != nil {
		return bad()
	}
	var hs, he uint16
	if hostPort != "" {
		hr, err := network.ParsePortRange(hostPort)
		if err != nil {
			return bad()
		}
		hs, he = hr.Start(), hr.End()
		if n := int(cr.End()) - int(cr.Start()); he != hs && int(he)-int(hs) != n {
			return flagError{fmt.Sprintf("invalid argument %q for \"-p, --publish\" flag: invalid ranges specified for container and host Ports: %s and %s", spec, ctrPort, hostPort)}
		}
	}
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = network.PortSet{}
	}
	if hc.PortBindings == nil {
		hc.PortBindings = network.PortMap{}
	}
	i := 0
	for p := range cr.All() {
		cfg.ExposedPorts[p] = struct{}{}
		b := network.PortBinding{HostIP: hip}
		switch {
		case hostPort == "":
		case hs == he:
			b.HostPort = strconv.Itoa(int(hs))
		case cr.Start() == cr.End():
			b.HostPort = fmt.Sprintf("%d-%d", hs, he) // one port, a host range to pick from
		default:
			b.HostPort = strconv.Itoa(int(hs) + i)
		}
		hc.PortBindings[p] = append(hc.PortBindings[p], b)
		i++
	}
	return nil
}

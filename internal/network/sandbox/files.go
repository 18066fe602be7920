package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// HostEntry is one extra /etc/hosts line: --add-host or a --link.
type HostEntry struct {
	IP    string
	Names []string
}

// Hosts is what /etc/hosts says about the container.
type Hosts struct {
	IPv6  bool        // the ip6 lines (docker writes them unless IPv6 is disabled)
	Extra []HostEntry // --add-host, then --link entries
	Self  []HostEntry // the container's own addresses with its hostname
}

// BuildHosts renders /etc/hosts as dockerd does: localhost lines, the ip6
// lines, the extra hosts, then the container's own entries.
func BuildHosts(h Hosts) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n")
	if h.IPv6 {
		b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::\tip6-localnet\n")
		b.WriteString("ff00::\tip6-mcastprefix\n")
		b.WriteString("ff02::1\tip6-allnodes\n")
		b.WriteString("ff02::2\tip6-allrouters\n")
	}
	for _, e := range slices.Concat(h.Extra, h.Self) {
		fmt.Fprintf(&b, "%s\t%s\n", e.IP, strings.Join(e.Names, " "))
	}
	return b.Bytes()
}

// ResolvConf is the host's resolver configuration, parsed.
type ResolvConf struct {
	Nameservers []string
	Search      []string
	Options     []string
	Path        string // where it was read from
}

// ReadResolvConf parses the host's resolv.conf at path (a missing file is
// an empty configuration).
func ReadResolvConf(path string) (ResolvConf, error) {
	rc := ResolvConf{Path: path}
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return rc, nil
		}
		return rc, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				rc.Nameservers = append(rc.Nameservers, f[1])
			}
		case "search", "domain":
			rc.Search = f[1:]
		case "options":
			rc.Options = append(rc.Options, f[1:]...)
		}
	}
	return rc, nil
}

// DefaultNameservers are dockerd's fallback when the host has no usable
// nameserver for a container outside the host's network namespace.
var DefaultNameservers = []string{"8.8.8.8", "8.8.4.4"}

// ResolvOpts are a container's DNS settings.
type ResolvOpts struct {
	DNS, DNSSearch, DNSOptions []string // --dns, --dns-search, --dns-option
	Internal                   bool     // the embedded resolver serves: nameserver 127.0.0.11
	HostNetwork                bool     // shares the host's stack: loopback nameservers stay usable
}

// BuildResolvConf renders the container's resolv.conf from the host's and
// the container's options, in dockerd 28's layout (a header of berth's own,
// the settings, then comments saying where they came from). It also returns
// the upstream nameservers that the embedded resolver forwards to.
func BuildResolvConf(host ResolvConf, o ResolvOpts) (data []byte, upstream []string) {
	servers := host.Nameservers
	if len(o.DNS) > 0 {
		servers = o.DNS
	}
	ext := slices.Clone(servers)
	search := host.Search
	if len(o.DNSSearch) > 0 {
		search = o.DNSSearch
		if len(search) == 1 && search[0] == "." {
			search = nil
		}
	}
	options := host.Options
	if len(o.DNSOptions) > 0 {
		options = o.DNSOptions
	}
	var overrides []string
	if len(o.DNS) > 0 {
		overrides = append(overrides, "nameservers")
	}
	if len(o.DNSSearch) > 0 {
		overrides = append(overrides, "search")
	}
	if len(o.DNSOptions) > 0 {
		overrides = append(overrides, "options")
	}
	var b bytes.Buffer
	b.WriteString("# Written by berthd from the host's resolver settings and the container's DNS\n# options; berthd writes it again each time the container starts.\n\n")
	mode := "legacy"
	switch {
	case o.Internal:
		mode = "internal resolver"
		b.WriteString("nameserver 127.0.0.11\n")
	case o.HostNetwork:
		mode = "host"
		for _, s := range servers {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
	default:
		var kept []string
		for _, s := range servers {
			if a, err := netip.ParseAddr(s); err == nil && a.IsLoopback() {
				continue
			}
			kept = append(kept, s)
		}
		if len(kept) == 0 {
			kept = DefaultNameservers
		}
		for _, s := range kept {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	ndotsFromUser := slices.ContainsFunc(options, func(s string) bool { return strings.HasPrefix(s, "ndots:") })
	if o.Internal && !ndotsFromUser {
		options = append(slices.Clone(options), "ndots:0")
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	src := host.Path
	if src == "" {
		src = "/etc/resolv.conf"
	}
	fmt.Fprintf(&b, "\n# Based on host file: '%s' (%s)\n", src, mode)
	if o.Internal && len(ext) > 0 {
		hosts := make([]string, len(ext))
		for i, s := range ext {
			hosts[i] = "host(" + s + ")"
		}
		fmt.Fprintf(&b, "# ExtServers: [%s]\n", strings.Join(hosts, " "))
	}
	fmt.Fprintf(&b, "# Overrides: [%s]\n", strings.Join(overrides, " "))
	if o.Internal && !ndotsFromUser {
		b.WriteString("# Option ndots from: internal\n")
	}
	return b.Bytes(), ext
}

// BuildHostname renders /etc/hostname.
func BuildHostname(hostname string) []byte { return []byte(hostname + "\n") }

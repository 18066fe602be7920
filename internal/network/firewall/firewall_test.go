package firewall

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/berth-engine/berth/internal/errdefs"
)

func TestNewUnknownBackend(t *testing.T) {
	_, err := New(context.Background(), "pf", Options{})
	if !errors.Is(err, errdefs.ErrInvalidParameter) {
		t.Fatalf("New(pf) = %v, want invalid parameter", err)
	}
}

func TestValidate(t *testing.T) {
	sub := netip.MustParsePrefix("172.30.0.0/16")
	cip := netip.MustParseAddr("172.30.0.2")
	good := Port{Proto: "tcp", HostPort: 8080, ContainerIP: cip, ContainerPort: 80, Bridge: "br0"}
	nets := []struct {
		name string
		n    Network
	}{
		{"no bridge", Network{Subnet: sub}},
		{"long bridge name", Network{Bridge: "abcdefghijklmnop", Subnet: sub}},
		{"no subnet", Network{Bridge: "br0"}},
		{"ipv6 subnet", Network{Bridge: "br0", Subnet: netip.MustParsePrefix("fd00::/64")}},
	}
	for _, tc := range nets {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.n.validate(); !errors.Is(err, errdefs.ErrInvalidParameter) {
				t.Fatalf("validate = %v, want invalid parameter", err)
			}
		})
	}
	ports := []struct {
		name string
		edit func(*Port)
	}{
		{"bad proto", func(p *Port) { p.Proto = "icmp" }},
		{"empty proto", func(p *Port) { p.Proto = "" }},
		{"host port 0", func(p *Port) { p.HostPort = 0 }},
		{"container port 0", func(p *Port) { p.ContainerPort = 0 }},
		{"no container ip", func(p *Port) { p.ContainerIP = netip.Addr{} }},
		{"ipv6 container ip", func(p *Port) { p.ContainerIP = netip.MustParseAddr("fd00::2") }},
		{"ipv6 host ip", func(p *Port) { p.HostIP = netip.MustParseAddr("::1") }},
		{"no bridge", func(p *Port) { p.Bridge = "" }},
	}
	for _, tc := range ports {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			if err := p.validate(); !errors.Is(err, errdefs.ErrInvalidParameter) {
				t.Fatalf("validate = %v, want invalid parameter", err)
			}
		})
	}
	for _, proto := range []string{"tcp", "udp", "sctp"} {
		p := good
		p.Proto = proto
		if err := p.validate(); err != nil {
			t.Errorf("%s: %v", proto, err)
		}
	}
}

package ipam

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/berth-engine/berth/internal/errdefs"
)

func TestNewBadInput(t *testing.T) {
	for _, tc := range []struct {
		name        string
		subnet, ipr string
		gw          string
		class       error
	}{
		{"gateway outside", "10.1.0.0/24", "", "10.2.0.1", errdefs.ErrInvalidParameter},
		{"range outside", "10.1.0.0/24", "10.2.0.0/25", "", errdefs.ErrInvalidParameter},
		{"not masked", "10.1.0.5/24", "", "", errdefs.ErrInvalidParameter},
		{"too small", "10.1.0.0/31", "", "", errdefs.ErrInvalidParameter},
		{"gateway is network address", "10.1.0.0/24", "", "10.1.0.0", errdefs.ErrInvalidParameter},
		{"ipv6 too small", "fd00::/127", "", "", errdefs.ErrInvalidParameter},
		{"ipv4 gateway in ipv6", "fd00::/64", "", "10.0.0.1", errdefs.ErrInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ipr netip.Prefix
			if tc.ipr != "" {
				ipr = netip.MustParsePrefix(tc.ipr)
			}
			var gw netip.Addr
			if tc.gw != "" {
				gw = netip.MustParseAddr(tc.gw)
			}
			if _, err := New(netip.MustParsePrefix(tc.subnet), ipr, gw); !errors.Is(err, tc.class) {
				t.Fatalf("err %v, want class %v", err, tc.class)
			}
		})
	}
}

func TestAllocate(t *testing.T) {
	p, err := New(netip.MustParsePrefix("10.1.0.0/29"), netip.Prefix{}, netip.MustParseAddr("10.1.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 5; i++ {
		ip, err := p.Allocate("e", netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	if want := "[10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6]"; fmtList(got) != want {
		t.Fatalf("got %v want %v", got, want)
	}
	if _, err := p.Allocate("e", netip.Addr{}); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("full pool: %v", err)
	}
	p.Release(netip.MustParseAddr("10.1.0.4"), "e")
	if ip, _ := p.Allocate("f", netip.Addr{}); ip.String() != "10.1.0.4" {
		t.Fatalf("reuse: %v", ip)
	}
	if _, err := p.Allocate("g", netip.MustParseAddr("10.1.0.3")); !errors.Is(err, errdefs.ErrConflict) || err.Error() != "Address already in use" {
		t.Fatalf("taken: %v", err)
	}
	if _, err := p.Allocate("g", netip.MustParseAddr("10.9.0.3")); !errors.Is(err, errdefs.ErrInvalidParameter) {
		t.Fatalf("outside: %v", err)
	}
}

func TestRange(t *testing.T) {
	p, err := New(netip.MustParsePrefix("10.1.0.0/24"), netip.MustParsePrefix("10.1.0.128/25"), netip.MustParseAddr("10.1.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if ip, _ := p.Allocate("e", netip.Addr{}); ip.String() != "10.1.0.128" {
		t.Fatalf("first in range: %v", ip)
	}
}

func fmtList(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}

func TestIPv6(t *testing.T) {
	p, err := New(netip.MustParsePrefix("fd00:1::/64"), netip.Prefix{}, netip.MustParseAddr("fd00:1::1"))
	if err != nil {
		t.Fatal(err)
	}
	if ip, err := p.Allocate("e", netip.Addr{}); err != nil || ip.String() != "fd00:1::2" {
		t.Fatalf("first: %v %v", ip, err)
	}
	if _, err := p.Allocate("f", netip.MustParseAddr("fd00:2::5")); !errors.Is(err, errdefs.ErrInvalidParameter) {
		t.Fatalf("outside: %v", err)
	}
}

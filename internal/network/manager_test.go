package network

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/errdefs"
)

// fakeLinks records nothing and always succeeds: the manager's rules are
// tested without the kernel.
type fakeLinks struct {
	ipvlan error
	hold   chan struct{} // when set, DeleteLink waits for it to close
}

func (fakeLinks) EnsureBridge(string, netip.Prefix, netip.Prefix, int) error { return nil }
func (f fakeLinks) DeleteLink(string) error {
	if f.hold != nil {
		<-f.hold
	}
	return nil
}
func (fakeLinks) EnsureDummy(string) error            { return nil }
func (fakeLinks) LinkExists(name string) bool         { return name == "dummy0" }
func (fakeLinks) AddVeth(string, string, Iface) error { return nil }
func (fakeLinks) AddMacvlan(string, Iface) error      { return nil }
func (fakeLinks) AddIPvlan(string, Iface) error       { return nil }
func (fakeLinks) RemoveInside(string, string) error   { return nil }
func (f fakeLinks) IPvlanSupported() error            { return f.ipvlan }

func newTestManager(t *testing.T, routes ...string) *Manager {
	t.Helper()
	var rs []netip.Prefix
	for _, r := range routes {
		rs = append(rs, netip.MustParsePrefix(r))
	}
	m, err := New(context.Background(), Config{
		Root: t.TempDir(), Bridge: "tb0", Links: fakeLinks{ipvlan: errors.New("no ipvlan")},
		HostRoutes: func() ([]netip.Prefix, error) { return rs, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDefaultSubnetSkipsHostRoutes(t *testing.T) {
	m := newTestManager(t, "172.17.0.0/16", "172.18.5.0/24")
	br, err := m.Get("bridge")
	if err != nil {
		t.Fatal(err)
	}
	if br.Subnet.String() != "172.19.0.0/16" || br.Gateway.String() != "172.19.0.1" {
		t.Fatalf("default bridge %s gw %s", br.Subnet, br.Gateway)
	}
	n, err := m.Create(context.Background(), CreateRequest{Name: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Subnet.String() != "172.20.0.0/16" || n.Bridge != "br-"+n.ID[:12] {
		t.Fatalf("user network %s on %s", n.Subnet, n.Bridge)
	}
}

func TestCreateBadInput(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	if _, err := m.Create(ctx, CreateRequest{Name: "a", Configs: []IPAMConfig{{Subnet: netip.MustParsePrefix("10.5.0.0/24")}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		req   CreateRequest
		class error
		msg   string
	}{
		{"taken name", CreateRequest{Name: "a"}, errdefs.ErrConflict, "network with name a already exists"},
		{"overlap", CreateRequest{Name: "b", Configs: []IPAMConfig{{Subnet: netip.MustParsePrefix("10.5.0.128/25")}}}, errdefs.ErrForbidden, "invalid pool request: Pool overlaps with other one on this address space"},
		{"gateway outside", CreateRequest{Name: "b", Configs: []IPAMConfig{{Subnet: netip.MustParsePrefix("10.6.0.0/24"), Gateway: netip.MustParseAddr("10.7.0.1")}}}, errdefs.ErrInvalidParameter, "no matching subnet for gateway 10.7.0.1"},
		{"host driver", CreateRequest{Name: "b", Driver: "host"}, errdefs.ErrForbidden, `only one instance of "host" network is allowed`},
		{"unknown driver", CreateRequest{Name: "b", Driver: "overlay2"}, errdefs.ErrNotFound, `plugin "overlay2" not found`},
		{"ipvlan unavailable", CreateRequest{Name: "b", Driver: "ipvlan", Options: map[string]string{"parent": "dummy0"}}, errdefs.ErrUnavailable, "the ipvlan driver is not available"},
		{"macvlan missing parent", CreateRequest{Name: "b", Driver: "macvlan", Options: map[string]string{"parent": "nope0"}}, errdefs.ErrInvalidParameter, "parent interface was not found"},
		{"bad mtu", CreateRequest{Name: "b", Options: map[string]string{OptMTU: "x"}}, errdefs.ErrInvalidParameter, "invalid MTU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Create(ctx, tc.req)
			if !errors.Is(err, tc.class) || err.Error() == "" || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want %v %q", err, tc.class, tc.msg)
			}
			if len(m.List()) != 4 {
				t.Fatalf("a failed create left a network: %d", len(m.List()))
			}
		})
	}
}

func TestAttachPersists(t *testing.T) {
	root := t.TempDir()
	cfg := Config{Root: root, Bridge: "tb0", Links: fakeLinks{}, Bip: netip.MustParsePrefix("10.9.0.1/24")}
	ctx := context.Background()
	m, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ep, _, err := m.Attach(ctx, "bridge", AttachOpts{ContainerID: "c1", ContainerName: "one", NSPath: "/x", IfName: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	if ep.IP.String() != "10.9.0.2" || ep.MAC != "02:42:0a:09:00:02" {
		t.Fatalf("endpoint %+v", ep)
	}
	if _, _, err := m.Attach(ctx, "bridge", AttachOpts{ContainerID: "c1", ContainerName: "one"}); !errors.Is(err, errdefs.ErrForbidden) {
		t.Fatalf("second attach: %v", err)
	}
	// A new manager on the same root (berthd restarted) keeps the address.
	m2, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ep2, _, err := m2.Attach(ctx, "bridge", AttachOpts{ContainerID: "c2", ContainerName: "two"})
	if err != nil || ep2.IP.String() != "10.9.0.3" {
		t.Fatalf("after restart: %v %v", ep2.IP, err)
	}
	if _, err := m2.Remove(ctx, "bridge"); !errors.Is(err, errdefs.ErrForbidden) {
		t.Fatalf("remove bridge: %v", err)
	}
	m2.Sweep(ctx, func(id string) bool { return id == "c2" })
	if eps := m2.Endpoints("c1"); len(eps) != 0 {
		t.Fatalf("sweep left c1: %v", eps)
	}
}

func TestDetachAllAsync(t *testing.T) {
	hold := make(chan struct{})
	ctx := context.Background()
	m, err := New(ctx, Config{Root: t.TempDir(), Bridge: "tb0", Links: fakeLinks{hold: hold}, Bip: netip.MustParsePrefix("10.9.0.1/29")})
	if err != nil {
		t.Fatal(err)
	}
	ep, _, err := m.Attach(ctx, "bridge", AttachOpts{ContainerID: "c1", ContainerName: "one", IfName: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	deleted := make(chan struct{})
	m.DetachAllAsync(ctx, "c1", func() { close(deleted) })
	if eps := m.Endpoints("c1"); len(eps) != 0 {
		t.Fatalf("endpoint still listed: %v", eps)
	}
	// While the link is being deleted, its address is not given out.
	ep2, _, err := m.Attach(ctx, "bridge", AttachOpts{ContainerID: "c2", ContainerName: "two", IfName: "eth0"})
	if err != nil || ep2.IP == ep.IP {
		t.Fatalf("second attach: %v %v (first had %v)", ep2.IP, err, ep.IP)
	}
	// The same container's next attach waits for the detach.
	again := make(chan error, 1)
	go func() {
		_, _, err := m.Attach(ctx, "bridge", AttachOpts{ContainerID: "c1", ContainerName: "one", IfName: "eth0"})
		again <- err
	}()
	select {
	case err := <-again:
		t.Fatalf("re-attach did not wait: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(hold)
	<-deleted
	if err := <-again; err != nil {
		t.Fatal(err)
	}
}

//go:build linux

package sandbox

import (
	"os"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/berth-engine/berth/internal/testutil"
)

func TestCreateDelete(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	ns, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := netns.GetFromPath(ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatal(err)
	}
	lo, err := nh.LinkByName("lo")
	if err != nil || lo.Attrs().Flags&1 == 0 {
		t.Fatalf("lo: %v %v", lo, err)
	}
	links, _ := nh.LinkList()
	nh.Close()
	h.Close()
	if len(links) != 1 {
		t.Fatalf("links in a new netns: %d", len(links))
	}
	if err := Delete(ns.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ns.Path); !os.IsNotExist(err) {
		t.Fatalf("netns file left: %v", err)
	}
}

func TestPool(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	p := NewPool(dir, 2)
	ns, err := p.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer Delete(ns.Path)
	p.Close()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("after Close %d files, want the one taken", len(ents))
	}
}

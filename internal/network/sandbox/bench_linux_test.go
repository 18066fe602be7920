//go:build linux

package sandbox

import (
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
)

// BenchmarkCreateDelete is what a run on a network pays without the pool:
// a new namespace with lo up, bind-mounted, then unmounted and removed.
func BenchmarkCreateDelete(b *testing.B) {
	testutil.RequiresRoot(b)
	dir := b.TempDir()
	for b.Loop() {
		ns, err := Create(dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := Delete(ns.Path); err != nil {
			b.Fatal(err)
		}
	}
}

package dns

import (
	"context"
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
)

// BenchmarkServeClose is what a container on a user network pays for its
// DNS server: sockets in its namespace, the redirect table, and Close.
func BenchmarkServeClose(b *testing.B) {
	testutil.RequiresRoot(b)
	ns := benchNetNS(b)
	for i := 0; i < b.N; i++ {
		s, err := Serve(context.Background(), ns, newFake(), nil)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

package portmap

import (
	"context"
	"testing"
)

// BenchmarkMapUnmap is one ephemeral TCP port published and released
// without a firewall: the socket and the proxy.
func BenchmarkMapUnmap(b *testing.B) {
	ctx := context.Background()
	m := New(nil, Options{})
	for i := 0; i < b.N; i++ {
		bs, err := m.Map(ctx, loopback, "", []Request{{ContainerPort: 80}})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Unmap(ctx, bs); err != nil {
			b.Fatal(err)
		}
	}
}

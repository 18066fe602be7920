package firewall

import (
	"context"
	"net/netip"
	"testing"
)

// BenchmarkAddRemovePort measures what publishing one port costs each
// backend (the daemon pays it on a run with -p, and again on the exit).
func BenchmarkAddRemovePort(b *testing.B) {
	for _, backend := range []string{IPTables, NFTables} {
		b.Run(backend, func(b *testing.B) {
			tp := newTopologyB(b)
			ctx := context.Background()
			fw, err := New(ctx, backend, Options{NetNS: tp, Table: "berth-bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer fw.Close(ctx)
			p := Port{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.99.0.2"), ContainerPort: 80, Bridge: "brA"}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := fw.AddPort(ctx, p); err != nil {
					b.Fatal(err)
				}
				if err := fw.RemovePort(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

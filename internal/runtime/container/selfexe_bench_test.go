package container

import "testing"

func BenchmarkSealedSelf(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f, err := sealedSelf()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkOverlaySelf(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f, err := overlaySelf(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

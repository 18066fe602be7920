//go:build linux && cgo

package seccomp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCompileCached(t *testing.T) {
	dir := t.TempDir()
	cfg := dockerProfile(t)
	want, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}

	got, err := CompileCached(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("cached compile differs from Compile")
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*.bpf"))
	if len(entries) != 1 {
		t.Fatalf("cache has %d entries, want 1", len(entries))
	}

	// A hit is served from the file: prove it by planting a different,
	// valid program under the same key.
	planted := &Program{Instructions: []Instruction{{Code: 0x06, K: 0x7fff0000}}, Flags: 1}
	data, _ := planted.MarshalBinary()
	if err := os.WriteFile(entries[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = CompileCached(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, planted) {
		t.Fatal("second CompileCached did not read the cache entry")
	}

	// A corrupt entry is recompiled and replaced.
	if err := os.WriteFile(entries[0], []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = CompileCached(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("corrupt cache entry was not recompiled")
	}

	// A different profile gets its own entry.
	other := allowWith(specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActErrno})
	if _, err := CompileCached(dir, other); err != nil {
		t.Fatal(err)
	}
	entries, _ = filepath.Glob(filepath.Join(dir, "*.bpf"))
	if len(entries) != 2 {
		t.Fatalf("cache has %d entries, want 2", len(entries))
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(tmps) != 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
}

func TestCompileCachedRejects(t *testing.T) {
	cfg := allowWith(specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActErrno})
	writable := t.TempDir()
	if err := os.Chmod(writable, 0o777); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, wantSub string
	}{
		{"world-writable dir", writable, "not writable by group or others"},
		{"not a directory", file, "is not a directory"},
		{"missing dir", filepath.Join(writable, "missing"), "no such file"},
		{"bad profile", t.TempDir(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.wantSub == "" {
				c = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}
				tt.wantSub = "SCMP_ACT_NOPE"
			}
			_, err := CompileCached(tt.dir, c)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("CompileCached = %v, want error containing %q", err, tt.wantSub)
			}
		})
	}
	if p, err := CompileCached("/nonexistent", nil); p != nil || err != nil {
		t.Errorf("CompileCached(nil) = %v, %v", p, err)
	}
}

// BenchmarkCompileCached measures a cache hit for Docker's default profile:
// encode the profile, hash it, read and decode the entry.
func BenchmarkCompileCached(b *testing.B) {
	dir := b.TempDir()
	cfg := dockerProfile(b)
	if _, err := CompileCached(dir, cfg); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := CompileCached(dir, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

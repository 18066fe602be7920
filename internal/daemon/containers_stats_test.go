package daemon

import (
	"os"
	"path/filepath"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
)

func TestCgroupFileReaders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if n, ok := readUint(write("usage", "4096\n")); !ok || n != 4096 {
		t.Errorf("readUint: %d %v", n, ok)
	}
	if _, ok := readUint(write("max", "max\n")); ok {
		t.Error("readUint(max) reported a value")
	}
	if _, ok := readUint(filepath.Join(dir, "absent")); ok {
		t.Error("readUint of a missing file reported a value")
	}
	kv := readKV(write("memory.stat", "cache 10\nrss 20\nbogus x\n"))
	if len(kv) != 2 || kv["cache"] != 10 || kv["rss"] != 20 {
		t.Errorf("readKV: %v", kv)
	}
	got := readBlkio(write("blkio", "8:0 Read 100\n8:0 Write 7\n8:0 Total 107\nTotal 107\n"))
	want := []ctypes.BlkioStatEntry{{Major: 8, Op: "Read", Value: 100}, {Major: 8, Op: "Write", Value: 7}, {Major: 8, Op: "Total", Value: 107}}
	if len(got) != len(want) {
		t.Fatalf("readBlkio: %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("readBlkio[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

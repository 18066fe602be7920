package nsexec

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	oom := -500
	b := Bootstrap{
		CloneFlags:  0x20000,
		Join:        []Join{{Type: "net", Path: "/run/netns/x"}},
		UIDMap:      "0 1000 1\n",
		OOMScoreAdj: &oom,
	}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	n := binary.NativeEndian.Uint32(data)
	if int(n) != len(data)-4 {
		t.Fatalf("length %d, body %d", n, len(data)-4)
	}
	got := strings.Split(strings.TrimSuffix(string(data[4:]), "\x00"), "\x00")
	want := []string{"clone=131072", "join=net:/run/netns/x", "uidmap=0 1000 1\n", "oom=-500"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("entries %q, want %q", got, want)
	}
}

func TestEncodeRejectsNUL(t *testing.T) {
	b := Bootstrap{Join: []Join{{Type: "net", Path: "/a\x00b"}}}
	if _, err := b.Encode(); err == nil || !bytes.Contains([]byte(err.Error()), []byte("NUL")) {
		t.Fatalf("want NUL error, got %v", err)
	}
}

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

func TestEncodeExec(t *testing.T) {
	umask := uint32(0o27)
	b := Bootstrap{Exec: &Exec{
		KeepFDs: 4, NoNewPrivs: true, SeccompBPF: []byte{0x06, 0, 0, 0, 0, 0, 0xff, 0x7f}, SeccompFlag: 1,
		UID: 1000, GID: 1001, Groups: []uint32{5, 7}, Umask: &umask, Caps: [5]uint64{0xff, 1, 1, 0, 0},
		Cwd: "/tmp", Rlimits: []Rlimit{{Resource: 7, Soft: 100, Hard: 200}}, AddHome: true,
		Args: []string{"sh", "-c", "echo a=b"}, Env: []string{"PATH=/bin", "X=1=2"},
	}}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(data[4:]), "\x00"), "\x00")
	want := []string{"clone=0", "exec=1", "keepfds=4", "nnp=1", "uid=1000", "gid=1001", "groups=5,7",
		"caps=ff,1,1,0,0", "cwd=/tmp", "seccomp=1:060000000000ff7f", "umask=27",
		"rlimit=7,100,200", "home=1000", "arg=sh", "arg=-c", "arg=echo a=b", "env=PATH=/bin", "env=X=1=2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("entries\n%q\nwant\n%q", got, want)
	}
	if _, err := (&Bootstrap{Exec: &Exec{}}).Encode(); err == nil {
		t.Fatal("an exec without args encoded")
	}
	if _, err := (&Bootstrap{Exec: &Exec{Args: []string{"a\x00b"}}}).Encode(); err == nil {
		t.Fatal("an argument with a NUL encoded")
	}
}

// CgroupV2Make asks the C stage to make the v2 directory before it opens it.
func TestEncodeCgroupV2Make(t *testing.T) {
	for _, mk := range []bool{false, true} {
		data, err := (&Bootstrap{CgroupV2: "/sys/fs/cgroup/unified/x", CgroupV2Make: mk}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(strings.Split(strings.TrimSuffix(string(data[4:]), "\x00"), "\x00"), "|")
		want := "clone=0|cgv2=/sys/fs/cgroup/unified/x"
		if mk {
			want = "clone=0|cgv2mk=1|cgv2=/sys/fs/cgroup/unified/x"
		}
		if got != want {
			t.Fatalf("make=%v: entries %q, want %q", mk, got, want)
		}
	}
}

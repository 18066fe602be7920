package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 10; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	f := latency(d)
	if f.Value != 5 || f.P90 != 9 || f.Min != 1 || f.Max != 10 || f.N != 10 {
		t.Fatalf("latency(1..10 ms) = %+v, want median 5, p90 9, min 1, max 10", f)
	}
	if latency(nil) != nil {
		t.Fatal("latency(nil) is not nil")
	}
	m := meanKiB([]int64{100, 200, 600})
	if m.Value != 300 || m.Min != 100 || m.Max != 600 {
		t.Fatalf("meanKiB = %+v", m)
	}
}

func TestVerdict(t *testing.T) {
	fig := func(v float64) *figure { return &figure{Value: v} }
	for _, tc := range []struct {
		name          string
		docker, berth *figure
		budget        budget
		want          string // "ok", "FAIL" or "" (no verdict)
	}{
		{"within ratio", fig(100), fig(20), budget{MaxRatio: 0.25}, "ok"},
		{"over ratio", fig(100), fig(30), budget{MaxRatio: 0.25}, "FAIL"},
		{"ratio met, absolute missed", fig(1000), fig(60), budget{MaxRatio: 0.1, MaxValue: 50}, "FAIL"},
		{"both met", fig(1000), fig(40), budget{MaxRatio: 0.1, MaxValue: 50}, "ok"},
		{"no docker, ratio only", nil, fig(40), budget{MaxRatio: 0.1}, ""},
		{"no docker, absolute judged", nil, fig(60), budget{MaxRatio: 0.1, MaxValue: 50}, "FAIL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r results
			r.add(row{Docker: tc.docker, Berth: tc.berth, Budget: &tc.budget})
			got := ""
			if p := r.Rows[0].Pass; p != nil {
				got = map[bool]string{true: "ok", false: "FAIL"}[*p]
			}
			if got != tc.want {
				t.Fatalf("verdict %q, want %q (ratio %.3f)", got, tc.want, r.Rows[0].Ratio)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	// The kernel does not escape comm: the ppid is found after the last ')'.
	c, ppid, err := parseStat([]byte("1234 (we(i)rd) name) S 77 1234 1234 0 -1\n"))
	if err != nil || c != "we(i)rd) name" || ppid != 77 {
		t.Fatalf("parseStat = %q, %d, %v", c, ppid, err)
	}
	if _, _, err := parseStat([]byte("1234 no parens")); err == nil {
		t.Fatal("malformed stat accepted")
	}
	c, ppid, err = stat(os.Getpid())
	if err != nil || ppid != os.Getppid() || c == "" {
		t.Fatalf("stat(self) = %q, %d, %v; want ppid %d", c, ppid, err, os.Getppid())
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/bb1/a`:          "/tmp/bb1/a",
		`/tmp/with\040space`:  "/tmp/with space",
		`/tmp/tab\011and\134`: "/tmp/tab\tand\\",
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShimPidFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "shims", "abc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := shimPidFile(root, "abc"); ok {
		t.Fatal("a missing shim.pid was read")
	}
	if err := os.WriteFile(filepath.Join(dir, "shim.pid"), []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, ok := shimPidFile(root, "abc"); !ok || pid != 4242 {
		t.Fatalf("shimPidFile = %d, %v", pid, ok)
	}
}

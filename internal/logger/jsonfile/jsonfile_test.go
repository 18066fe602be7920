package jsonfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/logger"
	"github.com/berth-engine/berth/internal/logger/loggertest"
)

func TestConformance(t *testing.T) {
	for _, opts := range []Options{{MaxSize: -1, MaxFile: 1}, {MaxSize: 300, MaxFile: 100}} {
		t.Run(fmt.Sprintf("max-size=%d,max-file=%d", opts.MaxSize, opts.MaxFile), func(t *testing.T) {
			loggertest.Run(t, func(t *testing.T) (logger.Logger, logger.Reader) {
				path := filepath.Join(t.TempDir(), "c-json.log")
				l, err := New(path, opts)
				if err != nil {
					t.Fatal(err)
				}
				return l, NewReader(path, opts.MaxFile)
			})
		})
	}
}

// The bytes on disk are docker's.
func TestFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	l, err := New(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 12, 4, 17, 0, 1, 500000000, time.FixedZone("x", 3600))
	for _, m := range []*logger.Message{
		{Line: []byte("hi <b>"), Source: "stdout", Timestamp: ts},
		{Line: []byte("no newline"), Source: "stderr", Timestamp: ts, Partial: true},
	} {
		if err := l.Log(m); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	data, _ := os.ReadFile(path)
	want := `{"log":"hi \u003cb\u003e\n","stream":"stdout","time":"2026-12-04T16:00:01.5Z"}` + "\n" +
		`{"log":"no newline","stream":"stderr","time":"2026-12-04T16:00:01.5Z"}` + "\n"
	if string(data) != want {
		t.Fatalf("got\n%s\nwant\n%s", data, want)
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]string
		want Options
		bad  bool
	}{
		{"defaults", nil, Options{MaxSize: -1, MaxFile: 1}, false},
		{"docker sizes", map[string]string{"max-size": "10m", "max-file": "3"}, Options{MaxSize: 10 << 20, MaxFile: 3}, false},
		{"unlimited", map[string]string{"max-size": "-1"}, Options{MaxSize: -1, MaxFile: 1}, false},
		{"bad size", map[string]string{"max-size": "ten"}, Options{}, true},
		{"zero file", map[string]string{"max-size": "1k", "max-file": "0"}, Options{}, true},
		{"files without size", map[string]string{"max-file": "3"}, Options{}, true},
		{"unknown", map[string]string{"colour": "red"}, Options{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOptions(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("want an error, got %+v", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// Rotation as docker does it: check capacity before each write, keep
// max-file files, the oldest dropped.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c-json.log")
	l, err := New(path, Options{MaxSize: 1000, MaxFile: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	base := time.Now().UTC()
	const n = 100
	for i := 0; i < n; i++ {
		if err := l.Log(&logger.Message{Line: []byte(fmt.Sprintf("line %03d", i)), Source: "stdout", Timestamp: base.Add(time.Duration(i))}); err != nil {
			t.Fatal(err)
		}
	}
	names, _ := filepath.Glob(path + "*")
	if len(names) != 3 {
		t.Fatalf("files %v, want 3", names)
	}
	for _, p := range []string{path + ".1", path + ".2"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// Rotated once the size reached 1000: at most one entry (79 bytes) over.
		if st.Size() < 1000 || st.Size() > 1100 {
			t.Errorf("%s is %d bytes, want 1000..1100", p, st.Size())
		}
	}
	got := loggertest.ReadAll(t, NewReader(path, 3), logger.ReadConfig{Tail: -1})
	if len(got) == 0 || string(got[len(got)-1].Line) != fmt.Sprintf("line %03d", n-1) {
		t.Fatalf("last line missing")
	}
	for i := 1; i < len(got); i++ {
		if string(got[i].Line) <= string(got[i-1].Line) {
			t.Fatalf("out of order: %q after %q", got[i].Line, got[i-1].Line)
		}
	}
	if first := string(got[0].Line); first == "line 000" {
		t.Fatalf("oldest file should have been dropped; read from %s", first)
	}
	tail := loggertest.ReadAll(t, NewReader(path, 3), logger.ReadConfig{Tail: 5})
	if len(tail) != 5 || string(tail[0].Line) != fmt.Sprintf("line %03d", n-5) {
		t.Fatalf("tail across files: got %d messages", len(tail))
	}
}

// max-file 1 truncates in place.
func TestRotationSingleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	l, err := New(path, Options{MaxSize: 200, MaxFile: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 20; i++ {
		l.Log(&logger.Message{Line: []byte(fmt.Sprint("line ", i)), Source: "stdout", Timestamp: time.Now()})
	}
	if names, _ := filepath.Glob(path + "*"); len(names) != 1 {
		t.Fatalf("files %v, want 1", names)
	}
	if st, _ := os.Stat(path); st.Size() > 300 {
		t.Fatalf("file is %d bytes", st.Size())
	}
}

// A follower keeps every line while the writer rotates under it.
func TestFollowAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	l, err := New(path, Options{MaxSize: 2000, MaxFile: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 300
	got := make(chan string, n)
	go NewReader(path, 5).ReadLogs(ctx, logger.ReadConfig{Tail: -1, Follow: true}, func(m *logger.Message) error {
		got <- string(m.Line)
		return nil
	})
	for i := 0; i < n; i++ {
		if err := l.Log(&logger.Message{Line: []byte(fmt.Sprintf("line %03d", i)), Source: "stdout", Timestamp: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if line := <-got; line != "line 000" {
				t.Fatalf("got %q first", line)
			}
		}
		if i%20 == 0 {
			// About one rotation per 10 ms: several per poll, never the
			// whole set of five files.
			time.Sleep(10 * time.Millisecond)
		}
	}
	timeout := time.After(10 * time.Second)
	for i := 1; i < n; i++ {
		select {
		case line := <-got:
			if want := fmt.Sprintf("line %03d", i); line != want {
				t.Fatalf("got %q, want %q", line, want)
			}
		case <-timeout:
			t.Fatalf("follow stopped after %d lines", i)
		}
	}
}

// Closing Done ends a follow with every line the writer wrote before it,
// without waiting for the context.
func TestFollowEndsOnDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	l, err := New(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	var lines []string
	finished := make(chan error, 1)
	go func() {
		finished <- NewReader(path, 1).ReadLogs(context.Background(), logger.ReadConfig{Tail: -1, Follow: true, Done: done}, func(m *logger.Message) error {
			lines = append(lines, string(m.Line))
			return nil
		})
	}()
	const n = 50
	for i := 0; i < n; i++ {
		if err := l.Log(&logger.Message{Line: []byte(fmt.Sprint("line ", i)), Source: "stdout", Timestamp: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	select {
	case err := <-finished:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end after Done was closed")
	}
	if len(lines) != n || lines[n-1] != fmt.Sprint("line ", n-1) {
		t.Fatalf("got %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

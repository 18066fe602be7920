// Package loggertest is the conformance suite every log driver runs: what a
// Logger writes, its Reader must give back, with docker's `logs` semantics
// for tail, since, until and follow.
package loggertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/logger"
)

// NewFunc makes a fresh, empty driver instance: a Logger and a Reader over
// what it writes. The suite closes the Logger.
type NewFunc func(t *testing.T) (logger.Logger, logger.Reader)

// Run runs the suite.
func Run(t *testing.T, newDriver NewFunc) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, NewFunc)
	}{
		{"RoundTrip", testRoundTrip},
		{"Tail", testTail},
		{"SinceUntil", testSinceUntil},
		{"Follow", testFollow},
		{"Concurrent", testConcurrent},
		{"LogAfterClose", testLogAfterClose},
		{"Copy", testCopy},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDriver) })
	}
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

func msg(i int, source, line string) *logger.Message {
	return &logger.Message{Line: []byte(line), Source: source, Timestamp: base.Add(time.Duration(i) * time.Second)}
}

func logAll(t *testing.T, l logger.Logger, msgs []*logger.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := l.Log(m); err != nil {
			t.Fatalf("Log: %v", err)
		}
	}
}

// ReadAll reads everything cfg selects (cfg.Follow must be false).
func ReadAll(t *testing.T, r logger.Reader, cfg logger.ReadConfig) []*logger.Message {
	t.Helper()
	var out []*logger.Message
	err := r.ReadLogs(context.Background(), cfg, func(m *logger.Message) error {
		out = append(out, m)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadLogs: %v", err)
	}
	return out
}

func same(a, b *logger.Message) bool {
	return string(a.Line) == string(b.Line) && a.Source == b.Source && a.Partial == b.Partial && a.Timestamp.Equal(b.Timestamp)
}

func expect(t *testing.T, got, want []*logger.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d: %s", len(got), len(want), show(got))
	}
	for i := range got {
		if !same(got[i], want[i]) {
			t.Errorf("message %d: got %s, want %s", i, show(got[i:i+1]), show(want[i:i+1]))
		}
	}
}

func show(ms []*logger.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "[%s %q partial=%v %s] ", m.Source, m.Line, m.Partial, m.Timestamp.Format(time.RFC3339Nano))
	}
	return b.String()
}

func all() logger.ReadConfig { return logger.ReadConfig{Tail: -1} }

func testRoundTrip(t *testing.T, nd NewFunc) {
	l, r := nd(t)
	defer l.Close()
	msgs := []*logger.Message{
		msg(0, logger.Stdout, "hello"),
		msg(1, logger.Stderr, "oops <&> \"quoted\" \\ tab\t ünïcode"),
		msg(2, logger.Stdout, ""),
		{Line: []byte("part one "), Source: logger.Stdout, Timestamp: base.Add(3 * time.Second), Partial: true},
		msg(4, logger.Stdout, "part two"),
	}
	logAll(t, l, msgs)
	expect(t, ReadAll(t, r, all()), msgs)
}

func testTail(t *testing.T, nd NewFunc) {
	l, r := nd(t)
	defer l.Close()
	var msgs []*logger.Message
	for i := 0; i < 10; i++ {
		msgs = append(msgs, msg(i, logger.Stdout, fmt.Sprint("line ", i)))
	}
	logAll(t, l, msgs)
	for _, tc := range []struct {
		name string
		tail int
		want []*logger.Message
	}{
		{"last3", 3, msgs[7:]},
		{"zero", 0, nil},
		{"more than there are", 50, msgs},
		{"all", -1, msgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, ReadAll(t, r, logger.ReadConfig{Tail: tc.tail}), tc.want)
		})
	}
}

func testSinceUntil(t *testing.T, nd NewFunc) {
	l, r := nd(t)
	defer l.Close()
	var msgs []*logger.Message
	for i := 0; i < 10; i++ {
		msgs = append(msgs, msg(i, logger.Stderr, fmt.Sprint("line ", i)))
	}
	logAll(t, l, msgs)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	for _, tc := range []struct {
		name string
		cfg  logger.ReadConfig
		want []*logger.Message
	}{
		{"since", logger.ReadConfig{Since: at(7), Tail: -1}, msgs[7:]},
		{"until", logger.ReadConfig{Until: at(2), Tail: -1}, msgs[:2]},
		{"both", logger.ReadConfig{Since: at(3), Until: at(6), Tail: -1}, msgs[3:6]},
		{"both with tail", logger.ReadConfig{Since: at(3), Until: at(6), Tail: 1}, msgs[5:6]},
		{"empty window", logger.ReadConfig{Since: at(20), Tail: -1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { expect(t, ReadAll(t, r, tc.cfg), tc.want) })
	}
}

func testFollow(t *testing.T, nd NewFunc) {
	l, r := nd(t)
	defer l.Close()
	old := []*logger.Message{msg(0, logger.Stdout, "old 0"), msg(1, logger.Stdout, "old 1")}
	logAll(t, l, old)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan *logger.Message, 100)
	done := make(chan error, 1)
	go func() {
		done <- r.ReadLogs(ctx, logger.ReadConfig{Tail: 1, Follow: true}, func(m *logger.Message) error {
			got <- m
			return nil
		})
	}()
	want := []*logger.Message{old[1]}
	for i := 2; i < 7; i++ {
		time.Sleep(5 * time.Millisecond)
		m := msg(i, logger.Stderr, fmt.Sprint("new ", i))
		logAll(t, l, []*logger.Message{m})
		want = append(want, m)
	}
	var recv []*logger.Message
	timeout := time.After(10 * time.Second)
	for len(recv) < len(want) {
		select {
		case m := <-got:
			recv = append(recv, m)
		case <-timeout:
			t.Fatalf("follow: got %s, want %d messages", show(recv), len(want))
		}
	}
	expect(t, recv, want)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow ended with %v, want nil on cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end on cancel")
	}
}

func testConcurrent(t *testing.T, nd NewFunc) {
	l, r := nd(t)
	defer l.Close()
	const n = 200
	var wg sync.WaitGroup
	for _, src := range []string{logger.Stdout, logger.Stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := l.Log(msg(i, src, fmt.Sprintf("%s %d", src, i))); err != nil {
					t.Errorf("Log: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	next := map[string]int{}
	for _, m := range ReadAll(t, r, all()) {
		if want := fmt.Sprintf("%s %d", m.Source, next[m.Source]); string(m.Line) != want {
			t.Fatalf("got %q, want %q: lines lost or reordered", m.Line, want)
		}
		next[m.Source]++
	}
	if next[logger.Stdout] != n || next[logger.Stderr] != n {
		t.Fatalf("read %v, want %d of each", next, n)
	}
}

func testLogAfterClose(t *testing.T, nd NewFunc) {
	l, _ := nd(t)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(msg(0, logger.Stdout, "late")); !errors.Is(err, logger.ErrClosed) {
		t.Fatalf("Log after Close: %v, want ErrClosed", err)
	}
}

func testCopy(t *testing.T, nd NewFunc) {
	l, r := nd(t)
	defer l.Close()
	long := strings.Repeat("x", logger.MaxLineSize+10)
	in := "a\nb\n" + long + "\nlast"
	if err := logger.Copy(strings.NewReader(in), logger.Stderr, l); err != nil {
		t.Fatal(err)
	}
	got := ReadAll(t, r, all())
	type line struct {
		text    string
		partial bool
	}
	want := []line{{"a", false}, {"b", false}, {long[:logger.MaxLineSize], true}, {long[logger.MaxLineSize:], false}, {"last", true}}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i, w := range want {
		if string(got[i].Line) != w.text || got[i].Partial != w.partial || got[i].Source != logger.Stderr {
			t.Errorf("message %d: got %d bytes partial=%v %s, want %d bytes partial=%v", i, len(got[i].Line), got[i].Partial, got[i].Source, len(w.text), w.partial)
		}
	}
}

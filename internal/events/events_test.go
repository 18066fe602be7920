package events

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func msg(typ events.Type, action events.Action, id string, attrs map[string]string) events.Message {
	return events.Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}}
}

func TestFilter(t *testing.T) {
	start := msg(events.ContainerEventType, events.ActionStart, "abcdef0123", map[string]string{"name": "web", "image": "busybox:latest", "tier": "front"})
	tag := msg(events.ImageEventType, events.ActionTag, "sha256:1234", map[string]string{"name": "busybox:latest"})
	health := msg(events.ContainerEventType, "health_status: healthy", "abcdef0123", map[string]string{"name": "web"})
	daemon := msg(events.DaemonEventType, events.ActionReload, "engine-id", map[string]string{"name": "host"})
	for _, tc := range []struct {
		name    string
		args    map[string][]string
		m       events.Message
		want    bool
		wantErr bool
	}{
		{name: "none", m: start, want: true},
		{name: "type match", args: map[string][]string{"type": {"container"}}, m: start, want: true},
		{name: "type miss", args: map[string][]string{"type": {"image"}}, m: start},
		{name: "type any of", args: map[string][]string{"type": {"image", "container"}}, m: start, want: true},
		{name: "event", args: map[string][]string{"event": {"start"}}, m: start, want: true},
		{name: "event miss", args: map[string][]string{"event": {"die"}}, m: start},
		{name: "health prefix", args: map[string][]string{"event": {"health_status"}}, m: health, want: true},
		{name: "container by name", args: map[string][]string{"container": {"web"}}, m: start, want: true},
		{name: "container by id prefix", args: map[string][]string{"container": {"abcd"}}, m: start, want: true},
		{name: "container filter drops images", args: map[string][]string{"container": {"web"}}, m: tag},
		{name: "image on container event", args: map[string][]string{"image": {"busybox"}}, m: start, want: true},
		{name: "image on image event", args: map[string][]string{"image": {"busybox:latest"}}, m: tag, want: true},
		{name: "image by id", args: map[string][]string{"image": {"sha256:1234"}}, m: tag, want: true},
		{name: "image miss", args: map[string][]string{"image": {"alpine"}}, m: start},
		{name: "label key", args: map[string][]string{"label": {"tier"}}, m: start, want: true},
		{name: "label kv", args: map[string][]string{"label": {"tier=front"}}, m: start, want: true},
		{name: "label kv miss", args: map[string][]string{"label": {"tier=back"}}, m: start},
		{name: "labels all", args: map[string][]string{"label": {"tier", "other"}}, m: start},
		{name: "daemon", args: map[string][]string{"daemon": {"engine-id"}}, m: daemon, want: true},
		{name: "and of keys", args: map[string][]string{"type": {"container"}, "event": {"die"}}, m: start},
		{name: "bad key", args: map[string][]string{"bogus": {"x"}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewFilter(tc.args)
			if tc.wantErr {
				var ife *InvalidFilterError
				if !errors.As(err, &ife) || err.Error() != "invalid filter 'bogus'" {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(tc.m); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

// clockLog returns a Log whose clock advances one second per event from
// base.
func clockLog(size int, base time.Time) *Log {
	l := New(size)
	n := 0
	l.now = func() time.Time { n++; return base.Add(time.Duration(n) * time.Second) }
	return l
}

func TestSinceUntilAndRing(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	l := clockLog(4, base)
	for _, a := range []events.Action{"a", "b", "c", "d", "e", "f"} {
		l.Publish(msg(events.ContainerEventType, a, "x", nil))
	}
	actions := func(ms []events.Message) string {
		s := ""
		for _, m := range ms {
			s += string(m.Action)
		}
		return s
	}
	// The ring kept the last 4 (c..f at base+3..6 s).
	for _, tc := range []struct {
		name         string
		since, until time.Time
		want         string
	}{
		{"no bounds replays nothing", time.Time{}, time.Time{}, ""},
		{"since all", base, time.Time{}, "cdef"},
		{"since inclusive", base.Add(4 * time.Second), time.Time{}, "def"},
		{"until only", time.Time{}, base.Add(4 * time.Second), "cd"},
		{"window", base.Add(4 * time.Second), base.Add(5 * time.Second), "de"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			past, sub := l.Subscribe(tc.since, tc.until, nil)
			defer sub.Close()
			if got := actions(past); got != tc.want {
				t.Errorf("replay = %q, want %q", got, tc.want)
			}
		})
	}
	past, sub := l.Subscribe(base, time.Time{}, &Filter{args: map[string][]string{"event": {"g"}}})
	defer sub.Close()
	if len(past) != 0 {
		t.Fatalf("filtered replay = %v", past)
	}
	l.Publish(msg(events.ContainerEventType, "h", "x", nil))
	l.Publish(msg(events.ContainerEventType, "g", "x", nil))
	select {
	case m := <-sub.C():
		if m.Action != "g" || m.Scope != "local" || m.Time != base.Add(8*time.Second).Unix() || m.TimeNano != base.Add(8*time.Second).UnixNano() {
			t.Errorf("live event = %+v", m)
		}
	case <-time.After(time.Second):
		t.Fatal("no live event")
	}
}

func TestSlowSubscriberIsEvicted(t *testing.T) {
	l := New(0)
	_, slow := l.Subscribe(time.Time{}, time.Time{}, nil)
	_, fast := l.Subscribe(time.Time{}, time.Time{}, nil)
	defer fast.Close()
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		for range fast.C() {
			got.Add(1)
		}
		close(done)
	}()
	publish := func(n int) {
		t.Helper()
		finished := make(chan struct{})
		go func() {
			for i := 0; i < n; i++ {
				l.Publish(msg(events.ContainerEventType, "start", "x", nil))
			}
			close(finished)
		}()
		select {
		case <-finished:
		case <-time.After(5 * time.Second):
			t.Fatal("Publish blocked on a slow subscriber")
		}
	}
	// Exactly a buffer's worth: nobody is evicted yet. Let the fast reader
	// catch up before going on.
	publish(subscriberBuffer)
	deadline := time.Now().Add(5 * time.Second)
	for got.Load() < subscriberBuffer && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if slow.Err() != nil || got.Load() != subscriberBuffer {
		t.Fatalf("after a full buffer: slow err %v, fast got %d", slow.Err(), got.Load())
	}
	// One more than the slow subscriber can hold evicts it, not the
	// reader that keeps up.
	publish(10)
	n := 0
	for range slow.C() {
		n++
	}
	if n != subscriberBuffer || !errors.Is(slow.Err(), ErrSlowSubscriber) {
		t.Errorf("slow subscriber got %d events, err %v; want %d, ErrSlowSubscriber", n, slow.Err(), subscriberBuffer)
	}
	deadline = time.Now().Add(5 * time.Second)
	for got.Load() < subscriberBuffer+10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	fast.Close()
	fast.Close() // idempotent
	<-done
	if got.Load() != subscriberBuffer+10 || fast.Err() != nil {
		t.Errorf("fast subscriber got %d events, err %v", got.Load(), fast.Err())
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "", want: time.Time{}},
		{in: "0", want: time.Unix(0, 0)}, // the epoch, not a zero duration
		{in: "1700000000", want: time.Unix(1700000000, 0)},
		{in: "1700000000.5", want: time.Unix(1700000000, 500000000)},
		{in: "1700000000.000000001", want: time.Unix(1700000000, 1)},
		{in: "10m", want: now.Add(-10 * time.Minute)},
		{in: "2026-12-04T11:00:00Z", want: time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC)},
		{in: "2026-12-04T11:00:00.25+01:00", want: time.Date(2026, 12, 4, 10, 0, 0, 250000000, time.UTC)},
		{in: "2026-12-04", want: time.Date(2026, 12, 4, 0, 0, 0, 0, time.Local)},
		{in: "yesterday", bad: true},
		{in: "17000.x", bad: true},
	} {
		got, err := ParseTime(tc.in, now)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseTime(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestClose(t *testing.T) {
	l := New(0)
	_, live := l.Subscribe(time.Time{}, time.Time{}, nil)
	l.Close()
	if _, ok := <-live.C(); ok || live.Err() != nil {
		t.Errorf("live subscription after Close: open or err %v", live.Err())
	}
	l.Publish(msg(events.ContainerEventType, "start", "x", nil))
	past, late := l.Subscribe(time.Unix(1, 0), time.Time{}, nil)
	if _, ok := <-late.C(); ok || len(past) != 1 {
		t.Errorf("subscription after Close: open, or replay %v", past)
	}
	late.Close() // no double close
}

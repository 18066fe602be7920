package events

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func TestJournalSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.log")
	l, err := Open(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []events.Action{"a", "b", "c", "d", "e", "f", "g"} {
		l.Publish(msg(events.ContainerEventType, a, "x", map[string]string{"name": "web"}))
	}
	if err := l.JournalErr(); err != nil {
		t.Fatal(err)
	}
	// Twice the ring's size triggers a rewrite: the file stays bounded.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n >= 6 {
		t.Errorf("journal holds %d lines, want < 6", n)
	}
	// A crash in the middle of an append leaves a torn line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"Type":"container","Action":"tor`)
	f.Close()

	l2, err := Open(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	past, sub := l2.Subscribe(time.Unix(1, 0), time.Time{}, nil)
	sub.Close()
	got := ""
	for _, m := range past {
		got += string(m.Action)
		if m.Actor.Attributes["name"] != "web" || m.Scope != "local" || m.TimeNano == 0 {
			t.Errorf("reloaded event %+v", m)
		}
	}
	if got != "efg" {
		t.Errorf("replay after reopen = %q, want efg", got)
	}
	l2.Publish(msg(events.ContainerEventType, "h", "x", nil))
	l3, err := Open(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	past, sub = l3.Subscribe(time.Unix(1, 0), time.Time{}, nil)
	sub.Close()
	if len(past) != 3 || past[2].Action != "h" {
		t.Errorf("after a torn line and an append: %v", past)
	}
}

func TestJournalUnwritable(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing-dir", "events.log"), 3); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestCloseJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.log")
	l, err := Open(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	l.Publish(msg(events.ContainerEventType, "a", "x", nil))
	if err := l.CloseJournal(); err != nil {
		t.Fatal(err)
	}
	l.Publish(msg(events.ContainerEventType, "b", "x", nil))
	data, _ := os.ReadFile(path)
	if n := bytes.Count(data, []byte("\n")); n != 1 || l.JournalErr() != nil {
		t.Errorf("journal after CloseJournal: %d lines, err %v", n, l.JournalErr())
	}
	if past, sub := l.Subscribe(time.Unix(1, 0), time.Time{}, nil); len(past) != 2 {
		t.Errorf("ring after CloseJournal: %v", past)
	} else {
		sub.Close()
	}
}

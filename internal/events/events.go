package events

import (
	"errors"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
)

// DefaultRingSize is how many recent events a Log keeps for since, as
// docker does.
const DefaultRingSize = 256

// subscriberBuffer is how many events a subscriber may fall behind by
// before it is evicted.
const subscriberBuffer = 1024

// ErrSlowSubscriber is why a subscription ended when its reader fell more
// than its buffer behind the publishers.
var ErrSlowSubscriber = errors.New("events: subscriber too slow, evicted")

// Log is a publish/subscribe hub with a ring of recent events. The zero
// value is not usable: use New.
type Log struct {
	mu   sync.Mutex
	ring []events.Message // oldest first, at most size
	size int
	subs map[*Subscription]struct{}
	now  func() time.Time

	closed bool // Close was called

	journal    *journal // nil: in memory only
	journalErr error    // why the journal was given up
}

// New returns a Log that keeps the last size events (DefaultRingSize when
// size <= 0).
func New(size int) *Log {
	if size <= 0 {
		size = DefaultRingSize
	}
	return &Log{size: size, subs: map[*Subscription]struct{}{}, now: time.Now}
}

// Publish stamps m with the time (when it has none) and the "local" scope,
// keeps it in the ring and hands it to every subscriber whose filter
// matches. It never blocks: a subscriber with a full buffer is evicted.
func (l *Log) Publish(m events.Message) {
	if m.TimeNano == 0 {
		t := l.now()
		m.Time, m.TimeNano = t.Unix(), t.UnixNano()
	}
	if m.Scope == "" {
		m.Scope = "local"
	}
	if m.Actor.Attributes == nil {
		m.Actor.Attributes = map[string]string{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) == l.size {
		copy(l.ring, l.ring[1:])
		l.ring = l.ring[:l.size-1]
	}
	l.ring = append(l.ring, m)
	if l.journal != nil {
		if err := l.journal.append(m, l.ring, l.size); err != nil {
			l.journalErr, l.journal = err, nil
		}
	}
	for s := range l.subs {
		if !s.filter.Match(m) {
			continue
		}
		select {
		case s.ch <- m:
		default:
			s.err = ErrSlowSubscriber
			l.evictLocked(s)
		}
	}
}

// Close ends every subscription (their C close, Err stays nil) and makes
// later subscriptions end at once: the daemon is shutting down. Publish
// still records events in the ring.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for s := range l.subs {
		l.evictLocked(s)
	}
}

// CloseJournal closes the journal file; later events are kept in memory
// only.
func (l *Log) CloseJournal() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.journal == nil {
		return nil
	}
	err := l.journal.f.Close()
	l.journal = nil
	return err
}

// JournalErr is why the on-disk journal was given up (the Log then goes
// on in memory), nil while it works or when there is none.
func (l *Log) JournalErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.journalErr
}

// Subscription is one reader of the log. Read C until it is closed, then
// Err says why (nil after Close).
type Subscription struct {
	ch     chan events.Message
	filter *Filter
	log    *Log
	err    error // guarded by log.mu
	closed bool  // guarded by log.mu
}

// C delivers the subscription's events in publishing order.
func (s *Subscription) C() <-chan events.Message { return s.ch }

// Err is ErrSlowSubscriber once the subscription was evicted, else nil.
func (s *Subscription) Err() error {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes C; it may be called more than
// once.
func (s *Subscription) Close() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.evictLocked(s)
}

func (l *Log) evictLocked(s *Subscription) {
	if s.closed {
		return
	}
	s.closed = true
	delete(l.subs, s)
	close(s.ch)
}

// Subscribe returns the events of the ring that match f and fall within
// [since, until] (none when both are zero, as docker replays only for a
// since or an until), and a subscription for the events published from
// now on that match f. A nil f matches everything. The replay and the
// subscription are taken atomically: no event is missed or seen twice.
func (l *Log) Subscribe(since, until time.Time, f *Filter) ([]events.Message, *Subscription) {
	s := &Subscription{ch: make(chan events.Message, subscriberBuffer), filter: f, log: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	var past []events.Message
	if !since.IsZero() || !until.IsZero() {
		for _, m := range l.ring {
			if !since.IsZero() && m.TimeNano < since.UnixNano() {
				continue
			}
			if !until.IsZero() && m.TimeNano > until.UnixNano() {
				continue
			}
			if f.Match(m) {
				past = append(past, m)
			}
		}
	}
	if l.closed {
		s.closed = true
		close(s.ch)
		return past, s
	}
	l.subs[s] = struct{}{}
	return past, s
}

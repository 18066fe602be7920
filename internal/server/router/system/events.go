package system

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/events"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// EventsBackend is what GET /events needs. SubscribeEvents returns the
// recent events matching filters within [since, until] and a subscription
// to the live ones; an unknown filter is ErrInvalidParameter.
type EventsBackend interface {
	SubscribeEvents(ctx context.Context, since, until time.Time, filters map[string][]string) ([]eventtypes.Message, *events.Subscription, error)
}

// legacyMessage adds the fields dockerd sent before API 1.52 (status, id
// and from: the action, the actor and, for containers, the image); the
// docker CLI up to 28 still reads them.
type legacyMessage struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	eventtypes.Message
}

// events streams the events: first the recent ones a since or until
// selects, then live ones until until passes or the client goes away.
// With an until already past, only the recent ones are sent.
func (s *Router) events(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, ok := s.backend.(EventsBackend)
	if !ok {
		return errdefs.New(errdefs.ErrNotImplemented, "events are not supported by this backend")
	}
	q := r.URL.Query()
	now := time.Now()
	since, err := events.ParseTime(q.Get("since"), now)
	if err != nil {
		return errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	until, err := events.ParseTime(q.Get("until"), now)
	if err != nil {
		return errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return errdefs.New(errdefs.ErrInvalidParameter, "`since` time ("+q.Get("since")+") cannot be after `until` time ("+q.Get("until")+")")
	}
	filters, err := httputil.ParseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	past, sub, err := b.SubscribeEvents(ctx, since, until, filters)
	if err != nil {
		return err
	}
	defer sub.Close()

	legacy := versionBefore(httputil.VersionFromContext(ctx), "1.52")
	w.Header().Set("Content-Type", eventsContentType(r, legacy))
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush() // the client waits for the headers before it reads
	enc := json.NewEncoder(w)
	write := func(m eventtypes.Message) error {
		if !legacy {
			return enc.Encode(m)
		}
		lm := legacyMessage{Message: m}
		if m.Type == eventtypes.ContainerEventType || m.Type == eventtypes.ImageEventType {
			lm.Status, lm.ID = string(m.Action), m.Actor.ID
			if m.Type == eventtypes.ContainerEventType {
				lm.From = m.Actor.Attributes["image"]
			}
		}
		return enc.Encode(lm)
	}
	for _, m := range past {
		if err := write(m); err != nil {
			return nil
		}
	}
	flush()
	var end <-chan time.Time
	if !until.IsZero() {
		if !until.After(now) {
			return nil
		}
		t := time.NewTimer(until.Sub(now))
		defer t.Stop()
		end = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return nil
		case m, ok := <-sub.C():
			if !ok {
				return nil // evicted (too slow) or shut down: the stream ends
			}
			if !until.IsZero() && m.TimeNano > until.UnixNano() {
				return nil
			}
			if err := write(m); err != nil {
				return nil
			}
			flush()
		}
	}
}

// eventsContentType picks the stream's media type: newer clients ask for
// JSON lines or NDJSON (the bytes are the same: one object a line); older
// ones get application/json as dockerd sent it.
func eventsContentType(r *http.Request, legacy bool) string {
	if !legacy {
		for _, a := range r.Header.Values("Accept") {
			for _, part := range strings.Split(a, ",") {
				mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
				if err != nil {
					continue
				}
				switch mt {
				case "application/jsonl", "application/x-ndjson":
					return mt
				}
			}
		}
	}
	return "application/json"
}

// versionBefore reports whether the dotted version a is older than b.
func versionBefore(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

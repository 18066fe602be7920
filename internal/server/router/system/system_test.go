package system

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/events"
	"github.com/berth-engine/berth/internal/server"
)

// fakeBackend has only the required methods; fullBackend adds events and
// disk usage.
type fakeBackend struct{}

func (fakeBackend) SystemInfo(context.Context) (*system.Info, error) { return &system.Info{}, nil }
func (fakeBackend) SystemVersion(context.Context) (*system.VersionResponse, error) {
	return &system.VersionResponse{}, nil
}

type fullBackend struct {
	fakeBackend
	log *events.Log
}

func (b fullBackend) SubscribeEvents(_ context.Context, since, until time.Time, filters map[string][]string) ([]eventtypes.Message, *events.Subscription, error) {
	f, err := events.NewFilter(filters)
	if err != nil {
		return nil, nil, errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	past, sub := b.log.Subscribe(since, until, f)
	return past, sub, nil
}

func (fullBackend) SystemDiskUsage(context.Context) (*system.DiskUsage, error) {
	return sampleUsage(), nil
}

func sampleUsage() *system.DiskUsage {
	du := &system.DiskUsage{
		ImageUsage:     &image.DiskUsage{TotalCount: 1, ActiveCount: 1, TotalSize: 2000, Items: []image.Summary{{ID: "sha256:aa", Size: 2000, Containers: 1}}},
		ContainerUsage: &container.DiskUsage{TotalCount: 1, TotalSize: 5, Reclaimable: 5, Items: []container.Summary{{ID: "cc", SizeRw: 5, SizeRootFs: 2005}}},
	}
	du.VolumeUsage, du.BuildCacheUsage = nil, nil
	return du
}

func serve(b Backend, target string) *httptest.ResponseRecorder {
	h := server.New(server.Config{Version: "test"}, New(b)).Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w
}

func TestEventsReplayAndLegacyFields(t *testing.T) {
	log := events.New(0)
	start := time.Now()
	log.Publish(eventtypes.Message{Type: "container", Action: "start", Actor: eventtypes.Actor{ID: "c1", Attributes: map[string]string{"image": "busybox", "name": "web"}}})
	log.Publish(eventtypes.Message{Type: "image", Action: "tag", Actor: eventtypes.Actor{ID: "sha256:aa", Attributes: map[string]string{"name": "busybox:latest"}}})
	log.Publish(eventtypes.Message{Type: "container", Action: "die", Actor: eventtypes.Actor{ID: "c1", Attributes: map[string]string{"image": "busybox", "name": "web", "exitCode": "0"}}})
	b := fullBackend{log: log}
	now := time.Now().Add(time.Millisecond)
	q := "since=" + stampOf(start) + "&until=" + stampOf(now)

	// Old clients get status, id and from; an until in the past ends the
	// stream after the replay.
	w := serve(b, "/v1.47/events?"+q)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("events: %d %s %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], `{"status":"start","id":"c1","from":"busybox","Type":"container","Action":"start",`) ||
		!strings.HasPrefix(lines[1], `{"status":"tag","id":"sha256:aa","Type":"image"`) || !strings.Contains(lines[0], `"scope":"local"`) {
		t.Errorf("legacy events:\n%s", w.Body)
	}
	// 1.52 on: no legacy fields.
	w = serve(b, "/v1.52/events?"+q+`&filters={"type":{"container":true},"event":["die"]}`)
	lines = strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	var m map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &m) != nil || m["Action"] != "die" || m["status"] != nil {
		t.Errorf("filtered events:\n%s", w.Body)
	}
	// An until alone replays everything before it, as dockerd does.
	if w = serve(b, "/events?until="+stampOf(now)); w.Code != 200 || strings.Count(w.Body.String(), "\n") != 3 {
		t.Errorf("until only (replays to until): %d %q", w.Code, w.Body)
	}
}

func stampOf(t time.Time) string {
	return time.Unix(0, t.UnixNano()).UTC().Format(time.RFC3339Nano)
}

func TestEventsErrors(t *testing.T) {
	b := fullBackend{log: events.New(0)}
	for _, tc := range []struct {
		target string
		code   int
		msg    string
	}{
		{"/events?filters={\"bogus\":[\"x\"]}&until=1", 400, "invalid filter 'bogus'"},
		{"/events?filters=nope&until=1", 400, "invalid filter"},
		{"/events?since=tomorrow", 400, "invalid time value: tomorrow"},
		{"/events?since=20&until=10", 400, "cannot be after"},
	} {
		w := serve(b, tc.target)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.msg) {
			t.Errorf("%s: %d %s", tc.target, w.Code, w.Body)
		}
	}
	if w := serve(fakeBackend{}, "/events"); w.Code != http.StatusNotImplemented {
		t.Errorf("events without an EventsBackend: %d", w.Code)
	}
}

func TestEventsLive(t *testing.T) {
	log := events.New(0)
	srv := httptest.NewServer(server.New(server.Config{Version: "test"}, New(fullBackend{log: log})).Handler())
	defer srv.Close()
	until := time.Now().Add(2 * time.Second)
	resp, err := http.Get(srv.URL + "/events?until=" + stampOf(until))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	log.Publish(eventtypes.Message{Type: "container", Action: "create", Actor: eventtypes.Actor{ID: "c2"}})
	dec := json.NewDecoder(resp.Body)
	var m eventtypes.Message
	if err := dec.Decode(&m); err != nil || m.Action != "create" || m.Actor.ID != "c2" || m.TimeNano == 0 {
		t.Fatalf("live event: %+v %v", m, err)
	}
	// The stream ends at until.
	if err := dec.Decode(&m); err == nil {
		t.Fatalf("stream went on after until: %+v", m)
	}
	if time.Now().Before(until) {
		t.Errorf("stream ended before until")
	}
}

func TestDiskUsageVersions(t *testing.T) {
	b := fullBackend{}
	// Before 1.52: the legacy lists, even when empty.
	w := serve(b, "/v1.47/system/df")
	var legacy map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &legacy); err != nil || string(legacy["LayersSize"]) != "2000" || legacy["Images"] == nil || string(legacy["Volumes"]) != "[]" || legacy["ImageUsage"] != nil {
		t.Errorf("1.47 df: %s", w.Body)
	}
	// 1.53+: per-type usage, items only when verbose.
	w = serve(b, "/v1.57/system/df")
	var cur map[string]map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &cur); err != nil || string(cur["ImageUsage"]["TotalSize"]) != "2000" || cur["ImageUsage"]["Items"] != nil || cur["Images"] != nil {
		t.Errorf("1.57 df: %s", w.Body)
	}
	w = serve(b, "/v1.57/system/df?verbose=1&type=container")
	if !strings.Contains(w.Body.String(), `"SizeRootFs":2005`) || strings.Contains(w.Body.String(), "ImageUsage") {
		t.Errorf("1.57 df verbose containers: %s", w.Body)
	}
	if w = serve(b, "/system/df?type=bogus"); w.Code != 400 {
		t.Errorf("bad type: %d %s", w.Code, w.Body)
	}
	if w = serve(fakeBackend{}, "/system/df"); w.Code != http.StatusNotImplemented {
		t.Errorf("df without a DiskUsageBackend: %d", w.Code)
	}
}

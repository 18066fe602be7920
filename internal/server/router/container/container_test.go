package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/logger"
	"github.com/berth-engine/berth/internal/server"
	"github.com/berth-engine/berth/internal/streams"
)

// fakeBackend answers with its func fields; a nil field fails the test's
// request with a 501.
type fakeBackend struct {
	create func(name string, req *container.CreateRequest) (container.CreateResponse, error)
	start  func(id string) error
	stop   func(id string, timeout *int, signal string) error
	wait   func(id string, cond container.WaitCondition) (<-chan container.WaitResponse, error)
	remove func(id string, force, v bool) error
	list   func(all bool, limit int, f map[string][]string) ([]container.Summary, error)
	logs   func(id string) (logger.Reader, bool, error)
	resize func(id string, h, w uint) error
	update func(id string, upd *container.UpdateConfig) (container.UpdateResponse, error)
}

var errUnset = errdefs.New(errdefs.ErrNotImplemented, "not in this fake")

func (f *fakeBackend) ContainerCreate(_ context.Context, name string, req *container.CreateRequest) (container.CreateResponse, error) {
	if f.create == nil {
		return container.CreateResponse{}, errUnset
	}
	return f.create(name, req)
}
func (f *fakeBackend) ContainerStart(_ context.Context, id string) error {
	if f.start == nil {
		return errUnset
	}
	return f.start(id)
}
func (f *fakeBackend) ContainerStop(_ context.Context, id string, t *int, sig string) error {
	if f.stop == nil {
		return errUnset
	}
	return f.stop(id, t, sig)
}
func (f *fakeBackend) ContainerKill(context.Context, string, string) error { return errUnset }
func (f *fakeBackend) ContainerRestart(context.Context, string, *int, string) error {
	return errUnset
}
func (f *fakeBackend) ContainerRename(context.Context, string, string) error { return errUnset }
func (f *fakeBackend) ContainersPrune(context.Context, map[string][]string) (container.PruneReport, error) {
	return container.PruneReport{}, errUnset
}
func (f *fakeBackend) ContainerStats(context.Context, string, bool, bool, func(*container.StatsResponse) error) error {
	return errUnset
}
func (f *fakeBackend) ContainerTop(context.Context, string, string) (container.TopResponse, error) {
	return container.TopResponse{}, errUnset
}
func (f *fakeBackend) ContainerWait(_ context.Context, id string, c container.WaitCondition) (<-chan container.WaitResponse, error) {
	if f.wait == nil {
		return nil, errUnset
	}
	return f.wait(id, c)
}
func (f *fakeBackend) ContainerRemove(_ context.Context, id string, force, v bool) error {
	if f.remove == nil {
		return errUnset
	}
	return f.remove(id, force, v)
}
func (f *fakeBackend) ContainerInspect(context.Context, string) (*container.InspectResponse, error) {
	return nil, errUnset
}
func (f *fakeBackend) ContainerList(_ context.Context, all bool, limit int, fl map[string][]string) ([]container.Summary, error) {
	if f.list == nil {
		return nil, errUnset
	}
	return f.list(all, limit, fl)
}
func (f *fakeBackend) ContainerLogs(_ context.Context, id string) (logger.Reader, bool, error) {
	if f.logs == nil {
		return nil, false, errUnset
	}
	return f.logs(id)
}

func (f *fakeBackend) ContainerAttach(context.Context, string, streams.AttachConfig) error {
	return errUnset
}
func (f *fakeBackend) ContainerResize(_ context.Context, id string, h, w uint) error {
	if f.resize == nil {
		return errUnset
	}
	return f.resize(id, h, w)
}
func (f *fakeBackend) ContainerSize(context.Context, string) (int64, int64, error) {
	return 0, 0, errUnset
}
func (f *fakeBackend) ContainerPause(context.Context, string) error   { return errUnset }
func (f *fakeBackend) ContainerUnpause(context.Context, string) error { return errUnset }
func (f *fakeBackend) ContainerUpdate(_ context.Context, id string, upd *container.UpdateConfig) (container.UpdateResponse, error) {
	if f.update == nil {
		return container.UpdateResponse{}, errUnset
	}
	return f.update(id, upd)
}

func do(t *testing.T, b Backend, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	h := server.New(server.Config{Version: "test"}, New(b)).Handler()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestCreate(t *testing.T) {
	var gotName string
	var gotReq *container.CreateRequest
	b := &fakeBackend{create: func(name string, req *container.CreateRequest) (container.CreateResponse, error) {
		gotName, gotReq = name, req
		return container.CreateResponse{ID: "abc", Warnings: []string{}}, nil
	}}
	w := do(t, b, "POST", "/v1.47/containers/create?name=web", `{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":1048576}}`)
	if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"Id":"abc"`) || !strings.Contains(w.Body.String(), `"Warnings":[]`) {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if gotName != "web" || gotReq.Image != "busybox" || gotReq.HostConfig.Memory != 1<<20 {
		t.Fatalf("create got name %q req %+v", gotName, gotReq)
	}
	if w := do(t, b, "POST", "/containers/create", `{"Image":`); w.Code != http.StatusBadRequest {
		t.Fatalf("malformed body: %d %s", w.Code, w.Body)
	}
}

func TestStatusMapping(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"not modified", errdefs.New(errdefs.ErrNotModified, "container already started"), 304},
		{"not found", errdefs.New(errdefs.ErrNotFound, "No such container: x"), 404},
		{"conflict", errdefs.New(errdefs.ErrConflict, "busy"), 409},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &fakeBackend{start: func(string) error { return c.err }}
			if w := do(t, b, "POST", "/containers/x/start", ""); w.Code != c.want {
				t.Fatalf("start: %d %s, want %d", w.Code, w.Body, c.want)
			}
		})
	}
	ok := &fakeBackend{start: func(string) error { return nil }}
	if w := do(t, ok, "POST", "/containers/x/start", ""); w.Code != http.StatusNoContent {
		t.Fatalf("start: %d", w.Code)
	}
}

func TestStopAndRemoveParams(t *testing.T) {
	var gotT *int
	var gotSig string
	var force, vol bool
	b := &fakeBackend{
		stop:   func(_ string, t *int, sig string) error { gotT, gotSig = t, sig; return nil },
		remove: func(_ string, f, v bool) error { force, vol = f, v; return nil },
	}
	if w := do(t, b, "POST", "/containers/x/stop?t=3&signal=SIGINT", ""); w.Code != 204 || gotT == nil || *gotT != 3 || gotSig != "SIGINT" {
		t.Fatalf("stop: %d t=%v sig=%q", w.Code, gotT, gotSig)
	}
	if w := do(t, b, "POST", "/containers/x/stop", ""); w.Code != 204 || gotT != nil {
		t.Fatalf("stop without t: %d t=%v", w.Code, gotT)
	}
	if w := do(t, b, "POST", "/containers/x/stop?t=soon", ""); w.Code != 400 {
		t.Fatalf("stop with a bad t: %d", w.Code)
	}
	if w := do(t, b, "DELETE", "/containers/x?force=1&v=true", ""); w.Code != 204 || !force || !vol {
		t.Fatalf("remove: %d force=%v v=%v", w.Code, force, vol)
	}
	if w := do(t, b, "DELETE", "/containers/x?force=0", ""); w.Code != 204 || force {
		t.Fatalf("remove force=0: %d force=%v", w.Code, force)
	}
}

func TestWait(t *testing.T) {
	b := &fakeBackend{wait: func(_ string, c container.WaitCondition) (<-chan container.WaitResponse, error) {
		if c != container.WaitConditionNextExit {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, "bad")
		}
		ch := make(chan container.WaitResponse, 1)
		ch <- container.WaitResponse{StatusCode: 7}
		return ch, nil
	}}
	w := do(t, b, "POST", "/containers/x/wait?condition=next-exit", "")
	var resp container.WaitResponse
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp.StatusCode != 7 {
		t.Fatalf("wait: %d %s", w.Code, w.Body)
	}
	if w := do(t, b, "POST", "/containers/x/wait?condition=bogus", ""); w.Code != 400 {
		t.Fatalf("wait bad condition: %d", w.Code)
	}
}

func TestListParams(t *testing.T) {
	var all bool
	var limit int
	var f map[string][]string
	b := &fakeBackend{list: func(a bool, l int, fl map[string][]string) ([]container.Summary, error) {
		all, limit, f = a, l, fl
		return []container.Summary{}, nil
	}}
	w := do(t, b, "GET", `/containers/json?all=1&limit=2&filters={"name":{"web":true},"status":["exited"]}`, "")
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" || !all || limit != 2 ||
		len(f["name"]) != 1 || f["name"][0] != "web" || len(f["status"]) != 1 || f["status"][0] != "exited" {
		t.Fatalf("list: %d %s all=%v limit=%d f=%v", w.Code, w.Body, all, limit, f)
	}
	for _, bad := range []string{"/containers/json?limit=x", "/containers/json?filters={"} {
		if w := do(t, b, "GET", bad, ""); w.Code != 400 {
			t.Fatalf("%s: %d", bad, w.Code)
		}
	}
}

type sliceReader []*logger.Message

func (s sliceReader) ReadLogs(_ context.Context, cfg logger.ReadConfig, fn func(*logger.Message) error) error {
	for _, m := range s {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

func TestLogsFraming(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	r := sliceReader{
		{Line: []byte("out"), Source: logger.Stdout, Timestamp: ts},
		{Line: []byte("err"), Source: logger.Stderr, Timestamp: ts},
		{Line: []byte("part"), Source: logger.Stdout, Timestamp: ts, Partial: true},
	}
	tty := false
	b := &fakeBackend{logs: func(string) (logger.Reader, bool, error) { return r, tty, nil }}

	w := do(t, b, "GET", "/containers/x/logs?stdout=1&stderr=1", "")
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, w.Body); err != nil || stdout.String() != "out\npart" || stderr.String() != "err\n" {
		t.Fatalf("logs: %v stdout %q stderr %q", err, stdout.String(), stderr.String())
	}

	w = do(t, b, "GET", "/containers/x/logs?stderr=1&timestamps=1", "")
	stdout.Reset()
	stderr.Reset()
	if _, err := stdcopy.StdCopy(&stdout, &stderr, w.Body); err != nil || stdout.Len() != 0 || stderr.String() != "2026-01-02T03:04:05.000000006Z err\n" {
		t.Fatalf("logs stderr+timestamps: %v stdout %q stderr %q", err, stdout.String(), stderr.String())
	}

	tty = true
	w = do(t, b, "GET", "/containers/x/logs?stdout=1", "")
	if body, _ := io.ReadAll(w.Body); string(body) != "out\npart" {
		t.Fatalf("tty logs: %q", body)
	}
	if w := do(t, b, "GET", "/containers/x/logs", ""); w.Code != 400 {
		t.Fatalf("logs without a stream: %d", w.Code)
	}
	b.logs = func(string) (logger.Reader, bool, error) {
		return nil, false, errdefs.New(errdefs.ErrNotFound, "No such container: x")
	}
	if w := do(t, b, "GET", "/containers/x/logs?stdout=1", ""); w.Code != 404 {
		t.Fatalf("logs of a missing container: %d", w.Code)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", time.Time{}, false},
		{"1700000000", time.Unix(1700000000, 0), false},
		{"1700000000.5", time.Unix(1700000000, 5e8), false},
		{"10s", time.Unix(990, 0), false},
		{"2026-01-02T03:04:05Z", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), false},
		{"yesterday", time.Time{}, true},
	}
	for _, c := range cases {
		got, err := parseTime(c.in, now)
		if (err != nil) != c.wantErr || !got.Equal(c.want) {
			t.Errorf("parseTime(%q) = %v, %v", c.in, got, err)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalidParameter) {
			t.Errorf("parseTime(%q): error not invalid-parameter: %v", c.in, err)
		}
	}
}

func TestResizeAndUpdate(t *testing.T) {
	var gotH, gotW uint
	b := &fakeBackend{
		resize: func(id string, h, w uint) error { gotH, gotW = h, w; return nil },
		update: func(id string, upd *container.UpdateConfig) (container.UpdateResponse, error) {
			if upd.Memory != 64<<20 || upd.RestartPolicy.Name != "always" {
				t.Errorf("update got %+v", upd)
			}
			return container.UpdateResponse{Warnings: []string{}}, nil
		},
	}
	if rec := do(t, b, "POST", "/containers/c/resize?h=30&w=100", ""); rec.Code != 200 || gotH != 30 || gotW != 100 {
		t.Fatalf("resize: %d %d x %d", rec.Code, gotH, gotW)
	}
	for _, q := range []string{"h=x&w=1", "h=1", "h=-1&w=2", "h=70000&w=1"} {
		if rec := do(t, b, "POST", "/containers/c/resize?"+q, ""); rec.Code != 400 {
			t.Errorf("resize %s: %d, want 400", q, rec.Code)
		}
	}
	rec := do(t, b, "POST", "/containers/c/update", `{"Memory":67108864,"RestartPolicy":{"Name":"always"}}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"Warnings":[]`) {
		t.Fatalf("update: %d %s", rec.Code, rec.Body.String())
	}
	if rec := do(t, b, "POST", "/containers/c/update", `{"Memory":"lots"}`); rec.Code != 400 {
		t.Fatalf("update with a bad body: %d", rec.Code)
	}
}

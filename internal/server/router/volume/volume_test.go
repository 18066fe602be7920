package volume

import (
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	voltypes "github.com/moby/moby/api/types/volume"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server"
)

// fakeBackend records the last call.
type fakeBackend struct{ got string }

func (f *fakeBackend) VolumeCreate(ctx context.Context, req voltypes.CreateRequest) (voltypes.Volume, error) {
	f.got = "create " + req.Name + " " + req.Driver + " " + req.DriverOpts["type"] + " " + req.Labels["a"]
	if req.Name == "a/b" {
		return voltypes.Volume{}, errdefs.New(errdefs.ErrInvalidParameter, "create a/b: bad name")
	}
	return voltypes.Volume{Name: req.Name, Driver: "local"}, nil
}

func (f *fakeBackend) Volumes(ctx context.Context, filters map[string][]string) ([]voltypes.Volume, error) {
	f.got = "list " + strings.Join(filters["dangling"], ",") + " " + strings.Join(filters["label"], ",")
	return nil, nil
}

func (f *fakeBackend) VolumeInspect(ctx context.Context, name string) (voltypes.Volume, error) {
	f.got = "inspect " + name
	if name == "nope" {
		return voltypes.Volume{}, errdefs.New(errdefs.ErrNotFound, "get nope: no such volume")
	}
	return voltypes.Volume{Name: name}, nil
}

func (f *fakeBackend) VolumeRemove(ctx context.Context, name string, force bool) error {
	f.got = "remove " + name
	if force {
		f.got += " force"
	}
	if name == "busy" {
		return errdefs.New(errdefs.ErrConflict, "remove busy: volume is in use - [abc]")
	}
	return nil
}

func (f *fakeBackend) VolumesPrune(ctx context.Context, filters map[string][]string) (voltypes.PruneReport, error) {
	f.got = "prune " + strings.Join(filters["all"], ",") + " " + strings.Join(filters["label"], ",")
	return voltypes.PruneReport{}, nil
}

func TestRoutes(t *testing.T) {
	f := url.QueryEscape
	cases := []struct {
		name, method, path, body string
		status                   int
		got, resp                string
	}{
		{"create", "POST", "/v1.47/volumes/create", `{"Name":"data","Driver":"local","DriverOpts":{"type":"tmpfs"},"Labels":{"a":"b"}}`, 201, "create data local tmpfs b", `"Name":"data"`},
		{"create bad name", "POST", "/volumes/create", `{"Name":"a/b"}`, 400, "create a/b   ", `{"message":"create a/b: bad name"}`},
		{"create bad json", "POST", "/volumes/create", `{"Name":`, 400, "", "invalid JSON"},
		{"list", "GET", "/volumes?filters=" + f(`{"dangling":{"true":true},"label":{"x=y":true}}`), "", 200, "list true x=y", `{"Volumes":[],"Warnings":[]}`},
		{"list bad filters", "GET", "/volumes?filters=nope", "", 400, "", "invalid filter"},
		{"inspect", "GET", "/volumes/data", "", 200, "inspect data", `"Name":"data"`},
		{"inspect missing", "GET", "/volumes/nope", "", 404, "inspect nope", "no such volume"},
		{"name with slash", "GET", "/volumes/a/b", "", 404, "", ""},
		{"remove", "DELETE", "/volumes/data?force=1", "", 204, "remove data force", ""},
		{"remove in use", "DELETE", "/volumes/busy", "", 409, "remove busy", "volume is in use - [abc]"},
		{"prune", "POST", "/v1.47/volumes/prune?filters=" + f(`{"label":{"k":true}}`), "", 200, "prune  k", `{"VolumesDeleted":[],"SpaceReclaimed":0}`},
		{"prune all", "POST", "/v1.47/volumes/prune?filters=" + f(`{"all":["true"]}`), "", 200, "prune true ", ""},
		// Before API 1.42 prune removed named volumes too.
		{"prune old api", "POST", "/v1.41/volumes/prune", "", 200, "prune true ", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{}
			h := server.New(server.Config{Version: "test"}, New(b)).Handler()
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			body, _ := io.ReadAll(w.Result().Body)
			if w.Code != tc.status || b.got != tc.got || !strings.Contains(string(body), tc.resp) {
				t.Fatalf("%d %q (backend %q), want %d %q (backend %q)", w.Code, body, b.got, tc.status, tc.resp, tc.got)
			}
		})
	}
}

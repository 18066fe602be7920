package network

import (
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	ntypes "github.com/moby/moby/api/types/network"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server"
)

// fakeBackend records the last call.
type fakeBackend struct{ got string }

func (f *fakeBackend) NetworkCreate(ctx context.Context, req ntypes.CreateRequest) (ntypes.CreateResponse, error) {
	f.got = "create " + req.Name + " " + req.Driver
	if req.IPAM != nil && len(req.IPAM.Config) > 0 {
		f.got += " " + req.IPAM.Config[0].Subnet.String()
	}
	if req.Name == "taken" {
		return ntypes.CreateResponse{}, errdefs.New(errdefs.ErrConflict, "network with name taken already exists")
	}
	if req.Name == "overlap" {
		return ntypes.CreateResponse{}, errdefs.New(errdefs.ErrForbidden, "invalid pool request: Pool overlaps with other one on this address space")
	}
	return ntypes.CreateResponse{ID: "abc"}, nil
}

func (f *fakeBackend) NetworkList(ctx context.Context, filters map[string][]string) ([]ntypes.Summary, error) {
	f.got = "list " + strings.Join(filters["driver"], ",")
	return nil, nil
}

func (f *fakeBackend) NetworkInspect(ctx context.Context, ref string) (ntypes.Inspect, error) {
	f.got = "inspect " + ref
	if ref == "nope" {
		return ntypes.Inspect{}, errdefs.New(errdefs.ErrNotFound, "network nope not found")
	}
	return ntypes.Inspect{Network: ntypes.Network{Name: ref}}, nil
}

func (f *fakeBackend) NetworkRemove(ctx context.Context, ref string) error {
	f.got = "remove " + ref
	if ref == "busy" {
		return errdefs.New(errdefs.ErrForbidden, "error while removing network: network busy id 123 has active endpoints")
	}
	return nil
}

func (f *fakeBackend) NetworksPrune(ctx context.Context, filters map[string][]string) (ntypes.PruneReport, error) {
	f.got = "prune " + strings.Join(filters["until"], ",")
	return ntypes.PruneReport{}, nil
}

func (f *fakeBackend) NetworkConnect(ctx context.Context, ref string, req ntypes.ConnectRequest) error {
	f.got = "connect " + ref + " " + req.Container
	if req.EndpointConfig != nil && req.EndpointConfig.IPAMConfig != nil {
		f.got += " " + req.EndpointConfig.IPAMConfig.IPv4Address.String()
	}
	return nil
}

func (f *fakeBackend) NetworkDisconnect(ctx context.Context, ref string, req ntypes.DisconnectRequest) error {
	f.got = "disconnect " + ref + " " + req.Container
	if req.Force {
		f.got += " force"
	}
	return nil
}

func TestRoutes(t *testing.T) {
	f := url.QueryEscape
	cases := []struct {
		name, method, path, body string
		status                   int
		got, resp                string
	}{
		{"create", "POST", "/v1.47/networks/create", `{"Name":"n","Driver":"bridge","IPAM":{"Config":[{"Subnet":"10.1.0.0/24"}]}}`, 201, "create n bridge 10.1.0.0/24", `"Id":"abc"`},
		{"create taken", "POST", "/networks/create", `{"Name":"taken"}`, 409, "create taken ", "already exists"},
		{"create overlap", "POST", "/networks/create", `{"Name":"overlap"}`, 403, "create overlap ", "Pool overlaps"},
		{"create bad json", "POST", "/networks/create", `{"Name":`, 400, "", "invalid JSON"},
		{"create bad subnet", "POST", "/networks/create", `{"Name":"x","IPAM":{"Config":[{"Subnet":"300.1.0.0/24"}]}}`, 400, "", ""},
		{"list", "GET", "/networks?filters=" + f(`{"driver":{"bridge":true}}`), "", 200, "list bridge", `[]`},
		{"list bad filters", "GET", "/networks?filters=nope", "", 400, "", "invalid filter"},
		{"inspect", "GET", "/networks/n", "", 200, "inspect n", `"Name":"n"`},
		{"inspect missing", "GET", "/networks/nope", "", 404, "inspect nope", "network nope not found"},
		{"remove", "DELETE", "/networks/n", "", 204, "remove n", ""},
		{"remove in use", "DELETE", "/networks/busy", "", 403, "remove busy", "has active endpoints"},
		{"prune", "POST", "/networks/prune?filters=" + f(`{"until":{"1h":true}}`), "", 200, "prune 1h", `{"NetworksDeleted":[]}`},
		{"connect", "POST", "/networks/n/connect", `{"Container":"c","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.1.0.5"}}}`, 200, "connect n c 10.1.0.5", ""},
		{"connect no container", "POST", "/networks/n/connect", `{}`, 400, "", "no container specified"},
		{"connect bad ip", "POST", "/networks/n/connect", `{"Container":"c","EndpointConfig":{"IPAMConfig":{"IPv4Address":"nope"}}}`, 400, "", ""},
		{"disconnect", "POST", "/networks/n/disconnect", `{"Container":"c","Force":true}`, 200, "disconnect n c force", ""},
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

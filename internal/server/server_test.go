package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
	systemrouter "github.com/berth-engine/berth/internal/server/router/system"
)

type fakeBackend struct{ infoErr error }

func (f fakeBackend) SystemInfo(context.Context) (*system.Info, error) {
	if f.infoErr != nil {
		return nil, f.infoErr
	}
	return &system.Info{Driver: "overlay2", Name: "host"}, nil
}

func (f fakeBackend) SystemVersion(context.Context) (*system.VersionResponse, error) {
	return &system.VersionResponse{Version: "dev", Components: []system.ComponentVersion{{Name: "Engine", Version: "dev"}}}, nil
}

// testRouter has routes that fail in the ways a handler can.
type testRouter struct{}

func (testRouter) Routes() []httputil.Route {
	return []httputil.Route{
		{Method: "GET", Path: "/panic", Handler: func(context.Context, http.ResponseWriter, *http.Request) error {
			var m map[string]int
			m["x"] = 1 // nil map write
			return nil
		}},
		{Method: "GET", Path: "/containers/{id}/json", Handler: func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
			return errdefs.New(errdefs.ErrNotFound, "No such container: "+r.PathValue("id"))
		}},
		{Method: "POST", Path: "/echo", Handler: func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
			var v map[string]any
			if err := httputil.ReadJSON(w, r, &v); err != nil {
				return err
			}
			return httputil.WriteJSON(w, http.StatusCreated, map[string]string{"version": httputil.VersionFromContext(ctx)})
		}},
	}
}

func newTestServer(t *testing.T, b systemrouter.Backend) (*Server, *bytes.Buffer) {
	var logs bytes.Buffer
	s := New(Config{Version: "dev", Logger: slog.New(slog.NewTextHandler(&logs, nil))}, systemrouter.New(b), testRouter{})
	return s, &logs
}

func do(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	h.ServeHTTP(rec, req)
	return rec
}

func message(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("error body %q is not {\"message\"}: %v", rec.Body, err)
	}
	return m.Message
}

func TestRoutes(t *testing.T) {
	s, logs := newTestServer(t, fakeBackend{})
	cases := []struct {
		name, method, path, body string
		status                   int
		message                  string // for errors
	}{
		{name: "ping", method: "GET", path: "/_ping", status: 200},
		{name: "ping oldest version", method: "GET", path: "/v1.24/_ping", status: 200},
		{name: "ping newest version", method: "GET", path: "/v1.57/_ping", status: 200},
		{name: "version too new", method: "GET", path: "/v1.99/version", status: 400,
			message: "client version 1.99 is too new. Maximum supported API version is 1.57"},
		{name: "version too old", method: "GET", path: "/v1.10/info", status: 400,
			message: "client version 1.10 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
		{name: "unknown path", method: "GET", path: "/nope", status: 404, message: "page not found"},
		{name: "unknown versioned path", method: "GET", path: "/v1.40/nope", status: 404, message: "page not found"},
		{name: "wrong method", method: "DELETE", path: "/version", status: 404, message: "page not found"},
		{name: "bad prefix is a path", method: "GET", path: "/vx/_ping", status: 404, message: "page not found"},
		{name: "classed error", method: "GET", path: "/v1.45/containers/abc/json", status: 404, message: "No such container: abc"},
		{name: "backend error", method: "GET", path: "/info", status: 500},
		{name: "panic", method: "GET", path: "/panic", status: 500},
		{name: "json body", method: "POST", path: "/v1.41/echo", body: `{"a":1}`, status: 201},
		{name: "malformed body", method: "POST", path: "/echo", body: `{"a":`, status: 400},
		{name: "huge body", method: "POST", path: "/echo", body: `{"a":"` + strings.Repeat("x", httputil.MaxJSONBody) + `"}`, status: 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := s.Handler()
			if c.name == "backend error" {
				failing, _ := newTestServer(t, fakeBackend{infoErr: fmt.Errorf("read host: %w", errdefs.ErrSystem)})
				h = failing.Handler()
			}
			rec := do(t, h, c.method, c.path, c.body)
			if rec.Code != c.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", c.method, c.path, rec.Code, c.status, rec.Body)
			}
			if c.status >= 400 {
				if got := message(t, rec); c.message != "" && got != c.message {
					t.Fatalf("message %q, want %q", got, c.message)
				}
			}
			if c.status != 404 {
				for k, want := range map[string]string{"Api-Version": "1.57", "Ostype": "linux", "Docker-Experimental": "false", "Server": "Docker/dev (linux)"} {
					if got := rec.Header().Get(k); got != want {
						t.Errorf("header %s = %q, want %q", k, got, want)
					}
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "handler panic") {
		t.Errorf("the panic was not logged: %s", logs)
	}
}

func TestPingHeaders(t *testing.T) {
	s, _ := newTestServer(t, fakeBackend{})
	for _, method := range []string{"GET", "HEAD"} {
		rec := do(t, s.Handler(), method, "/_ping", "")
		want := map[string]string{
			"Builder-Version": "1", "Swarm": "inactive", "Pragma": "no-cache",
			"Cache-Control": "no-cache, no-store, must-revalidate", "Api-Version": "1.57",
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s _ping: header %s = %q, want %q", method, k, got, v)
			}
		}
		wantBody := "OK"
		if method == "HEAD" {
			wantBody = ""
		}
		if rec.Code != 200 || rec.Body.String() != wantBody {
			t.Errorf("%s _ping: %d %q", method, rec.Code, rec.Body)
		}
	}
}

func TestVersionFields(t *testing.T) {
	s, _ := newTestServer(t, fakeBackend{})
	rec := do(t, s.Handler(), "GET", "/version", "")
	var v system.VersionResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.APIVersion != "1.57" || v.MinAPIVersion != "1.24" || v.Components[0].Details["ApiVersion"] != "1.57" {
		t.Fatalf("version response %+v", v)
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{{"1.24", "1.24", 0}, {"1.9", "1.24", -1}, {"1.100", "1.57", 1}, {"2", "1.57", 1}, {"1.24.1", "1.24", 1}}
	for _, c := range cases {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestServeAndShutdown(t *testing.T) {
	s, _ := newTestServer(t, fakeBackend{})
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://berth/_ping")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "OK" {
		t.Fatalf("ping body %q", b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestParseHost(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"unix:///run/x.sock", "/run/x.sock", ""},
		{"unix://", "/def.sock", ""},
		{"/tmp/a.sock", "/tmp/a.sock", ""},
		{"unix://rel.sock", "", "must be absolute"},
		{"tcp://0.0.0.0:2375", "", "mutual TLS"},
		{"fd://", "", "unsupported protocol"},
	}
	for _, c := range cases {
		got, err := ParseHost(c.in, "/def.sock")
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseHost(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.err)
		}
	}
}

func TestListenUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d", "s.sock")
	l, err := ListenUnix(sock, "no-such-group-berth-test")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode: %v %v", st.Mode(), err)
	}
	if _, err := ListenUnix(sock, ""); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listen: %v", err)
	}
	// A stale socket: the file stays when the listener does not unlink it.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := ListenUnix(sock, "")
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	l2.Close()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left after Close: %v", err)
	}
}

func TestShutdownBeforeServe(t *testing.T) {
	s, _ := newTestServer(t, fakeBackend{})
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(l); err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := os.Stat(l.Addr().String()); !os.IsNotExist(err) {
		t.Fatalf("socket left: %v", err)
	}
}

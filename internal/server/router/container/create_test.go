package container

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/server"
)

// TestCreateDecoding: bodies that cannot be decoded are refused with
// docker's 400 (or 413 past the size cap) before the backend sees them;
// unknown fields are ignored as dockerd ignores them. The values
// themselves are the daemon's to check (internal/daemon validate_test.go).
func TestCreateDecoding(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		status            int
		msg               string
	}{
		{"valid", "application/json", `{"Image":"busybox"}`, 201, `"Id":"abc"`},
		{"no content type", "", `{"Image":"busybox"}`, 201, `"Id":"abc"`},
		{"charset", "application/json; charset=utf-8", `{"Image":"busybox"}`, 201, `"Id":"abc"`},
		{"unknown fields", "application/json", `{"Image":"busybox","Bogus":{"x":1},"HostConfig":{"Nope":[]}}`, 201, `"Id":"abc"`},
		{"text/plain", "text/plain", `{"Image":"busybox"}`, 400, "unsupported Content-Type header (text/plain): must be 'application/json'"},
		{"bad media type", "application/json; =", `{"Image":"busybox"}`, 400, "unsupported Content-Type header"},
		{"empty", "application/json", ``, 400, "invalid JSON: got EOF while reading request body"},
		{"malformed", "application/json", `{"Image":`, 400, "invalid JSON: unexpected EOF"},
		{"not an object", "application/json", `"busybox"`, 400, "invalid JSON: json: cannot unmarshal string"},
		{"trailing", "application/json", `{"Image":"busybox"}{}`, 400, "unexpected content after JSON"},
		{"Memory string", "application/json", `{"Image":"busybox","HostConfig":{"Memory":"x"}}`, 400, "cannot unmarshal string into Go struct field"},
		{"Memory overflow", "application/json", `{"Image":"busybox","HostConfig":{"Memory":1e30}}`, 400, "cannot unmarshal number 1e30"},
		{"Env not a list", "application/json", `{"Image":"busybox","Env":"A=1"}`, 400, "cannot unmarshal string"},
		{"invalid UTF-8 is kept, not a 500", "application/json", "{\"Image\":\"busy\xffbox\"}", 201, `"Id":"abc"`},
		{"over 10 MiB", "application/json", `{"Image":"busybox","Env":["X=` + strings.Repeat("a", 10<<20) + `"]}`, 413, "request body larger than 10485760 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			called := false
			b := &fakeBackend{create: func(string, *container.CreateRequest) (container.CreateResponse, error) {
				called = true
				return container.CreateResponse{ID: "abc", Warnings: []string{}}, nil
			}}
			h := server.New(server.Config{Version: "test"}, New(b)).Handler()
			req := httptest.NewRequest(http.MethodPost, "/v1.41/containers/create", strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.msg) {
				t.Fatalf("%d %.200s, want %d %q", w.Code, w.Body, c.status, c.msg)
			}
			if called != (c.status == 201) {
				t.Fatalf("backend called: %v", called)
			}
		})
	}
}

// TestQueryParameters: docker's 400s for values it cannot parse.
func TestQueryParameters(t *testing.T) {
	b := &fakeBackend{
		stop:  func(string, *int, string) error { return nil },
		start: func(string) error { return nil },
	}
	cases := []struct {
		method, target string
		status         int
		msg            string
	}{
		{"POST", "/containers/x/stop?t=x", 400, "invalid value for t: x"},
		{"POST", "/containers/x/stop?t=1.5", 400, "invalid value for t: 1.5"},
		{"POST", "/containers/x/stop?t=", 204, ""},
		{"POST", "/containers/x/stop?t=-1", 204, ""},
		{"POST", "/containers/x/start", 204, ""},
		{"POST", "/containers/x/start#{}", 204, ""},
		{"POST", "/containers/x/start#{\"Memory\":1}", 400, "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24"},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			target, body, _ := strings.Cut(c.target, "#") // the body follows a '#'
			w := do(t, b, c.method, target, body)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.msg) {
				t.Fatalf("%d %s, want %d %q", w.Code, w.Body, c.status, c.msg)
			}
		})
	}
}

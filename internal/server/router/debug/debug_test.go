package debug

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/server"
)

func TestRoutes(t *testing.T) {
	h := server.New(server.Config{Version: "test"}, New()).Handler()
	cases := []struct {
		name, target string
		status       int
		contains     string
	}{
		{"index", "/debug/pprof/", 200, "goroutine"},
		{"goroutines with a version prefix", "/v1.41/debug/pprof/goroutine?debug=1", 200, "goroutine profile: total "},
		{"heap", "/debug/pprof/heap?debug=1", 200, "heap profile:"},
		{"cmdline", "/debug/pprof/cmdline", 200, ""},
		{"vars", "/debug/vars", 200, `"memstats"`},
		{"unknown profile", "/debug/pprof/nope", 404, "Unknown profile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.target, nil))
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("%d %.200q, want %d and %q", w.Code, w.Body.String(), tc.status, tc.contains)
			}
		})
	}
}

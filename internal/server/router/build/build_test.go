package build

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestPrune(t *testing.T) {
	for _, tc := range []struct {
		name, filters string
		status        int
		body          string
	}{
		{"no filters", "", 200, `{"CachesDeleted":[],"SpaceReclaimed":0}`},
		{"until", `{"until":{"24h":true}}`, 200, `"SpaceReclaimed":0`},
		{"unknown filter", `{"bogus":{"x":true}}`, 400, `invalid filter 'bogus'`},
		{"bad json", `{`, 400, `invalid filter`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/build/prune?filters="+url.QueryEscape(tc.filters), nil)
			w := httptest.NewRecorder()
			err := New().prune(context.Background(), w, req)
			status, body := w.Code, w.Body.String()
			if err != nil {
				status, body = 400, err.Error()
			}
			if status != tc.status || !strings.Contains(body, tc.body) {
				t.Errorf("got %d %q, want %d with %q", status, body, tc.status, tc.body)
			}
		})
	}
}

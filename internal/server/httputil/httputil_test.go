package httputil

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/errdefs"
)

func TestReadJSON(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		status            int // 0: no error
	}{
		{"ok", "application/json", `{"A":1}`, 0},
		{"ok without content type", "", `{"A":1}`, 0},
		{"ok with charset", "application/json; charset=utf-8", `{"A":1}`, 0},
		{"wrong content type", "text/plain", `{"A":1}`, 400},
		{"empty", "application/json", ``, 400},
		{"malformed", "application/json", `{"A":`, 400},
		{"wrong type", "application/json", `{"A":"x"}`, 400},
		{"trailing", "application/json", `{"A":1} {}`, 400},
		{"too large", "application/json", `{"B":"` + strings.Repeat("x", MaxJSONBody) + `"}`, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(c.body))
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			var v struct {
				A int
				B string
			}
			err := ReadJSON(httptest.NewRecorder(), r, &v)
			if c.status == 0 {
				if err != nil || v.A != 1 {
					t.Fatalf("ReadJSON: %v, value %+v", err, v)
				}
				return
			}
			if got := errdefs.HTTPStatus(err); got != c.status {
				t.Fatalf("ReadJSON error %v has status %d, want %d", err, got, c.status)
			}
		})
	}
}

func TestParseFilters(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string][]string
		bad      bool
	}{
		{name: "empty", in: "", want: map[string][]string{}},
		{name: "sets", in: `{"dangling":{"true":true}}`, want: map[string][]string{"dangling": {"true"}}},
		{name: "lists", in: `{"reference":["a","b"]}`, want: map[string][]string{"reference": {"a", "b"}}},
		{name: "not json", in: `dangling=true`, bad: true},
		{name: "wrong shape", in: `{"a":1}`, bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseFilters(c.in)
			if c.bad {
				if errdefs.HTTPStatus(err) != 400 {
					t.Fatalf("ParseFilters(%q) = %v, %v; want a 400", c.in, got, err)
				}
				return
			}
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("ParseFilters(%q) = %v, %v", c.in, got, err)
			}
			for k, v := range c.want {
				if strings.Join(got[k], ",") != strings.Join(v, ",") {
					t.Fatalf("ParseFilters(%q)[%s] = %v, want %v", c.in, k, got[k], v)
				}
			}
		})
	}
}

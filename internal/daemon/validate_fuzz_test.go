package daemon

import (
	"bytes"
	"net/http"
	"testing"
)

// FuzzContainerCreate sends random and mutated create bodies (and names)
// through the API server's create route into the daemon's checks. No input
// may panic (the server turns a panic into a 500) or end in a 5xx: every
// outcome is a 201 or a 4xx. `go test` runs the seeds (testdata/create
// and testdata/fuzz); `go test -fuzz FuzzContainerCreate` explores.
func FuzzContainerCreate(f *testing.F) {
	for _, b := range seedBodies(f) {
		f.Add("", b)
	}
	f.Add("web", []byte(`{"Image":"busybox"}`))
	f.Add("a/b", []byte(`{"Image":"busybox"}`))
	f.Add("", []byte(`{"Image":`))
	f.Add("", []byte(`null`))
	f.Add("", []byte{0xff, 0xfe, 0})
	var logs bytes.Buffer
	h := createHandler(f, &logs)
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		logs.Reset()
		w := postCreate(h, name, "application/json", body)
		switch {
		case w.Code == http.StatusCreated:
		case w.Code >= 400 && w.Code < 500:
		default:
			t.Fatalf("name %q body %q: %d %s\n%s", name, body, w.Code, w.Body, logs.String())
		}
	})
}

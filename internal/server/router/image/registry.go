package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"

	"github.com/berth-engine/berth/internal/errdefs"
)

// decodeAuth reads the X-Registry-Auth header: base64url JSON of an
// AuthConfig (padded or not, or standard base64 as old clients sent it).
// An empty header is no credentials.
func decodeAuth(h string) (registry.AuthConfig, error) {
	var cfg registry.AuthConfig
	h = strings.TrimSpace(h)
	if h == "" {
		return cfg, nil
	}
	var data []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if data, err = enc.DecodeString(h); err == nil {
			break
		}
	}
	if err != nil {
		return cfg, errdefs.New(errdefs.ErrInvalidParameter, "invalid X-Registry-Auth header: "+err.Error())
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, errdefs.New(errdefs.ErrInvalidParameter, "invalid X-Registry-Auth header: "+err.Error())
	}
	return cfg, nil
}

// streamWriter sends the 200 and the JSON content type with the first
// message and flushes each one, so an error before any message is still
// an ordinary error response.
type streamWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	started bool
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
	}
	n, err := s.w.Write(p)
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return n, err
}

// finish answers err: as the response when nothing was sent yet, else as
// the stream's last message in docker's shape.
func (s *streamWriter) finish(err error) error {
	if err == nil {
		return nil
	}
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return err
	}
	msg := struct {
		jsonstream.Message
		Error string `json:"error"`
	}{Message: jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, Error: err.Error()}
	data, _ := json.Marshal(msg)
	_, _ = s.Write(append(data, '\n'))
	return nil
}

// pull is POST /images/create?fromImage=&tag=&platform=.
func (s *Router) pull(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	auth, err := decodeAuth(r.Header.Get(registry.AuthHeader))
	if err != nil {
		return err
	}
	sw := &streamWriter{w: w}
	return sw.finish(s.backend.PullImage(ctx, q.Get("fromImage"), q.Get("tag"), q.Get("platform"), auth, sw))
}

// push is POST /images/{name}/push?tag=.
func (s *Router) push(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	if r.Header.Get(registry.AuthHeader) == "" {
		// dockerd insists on the header for a push (clients send "{}"
		// encoded when they have no credentials).
		return errdefs.New(errdefs.ErrInvalidParameter, "Bad parameters and missing X-Registry-Auth: EOF")
	}
	auth, err := decodeAuth(r.Header.Get(registry.AuthHeader))
	if err != nil {
		return err
	}
	sw := &streamWriter{w: w}
	return sw.finish(s.backend.PushImage(ctx, name, r.URL.Query().Get("tag"), auth, sw))
}

// auth is POST /auth with an AuthConfig body.
func (s *Router) auth(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var cfg registry.AuthConfig
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&cfg); err != nil {
		return errdefs.New(errdefs.ErrInvalidParameter, "invalid JSON body: "+err.Error())
	}
	resp, err := s.backend.AuthLogin(ctx, cfg)
	if err != nil {
		return err
	}
	// dockerd sends IdentityToken even when empty; the API type omits it.
	return writeJSON(w, struct {
		IdentityToken string `json:"IdentityToken"`
		Status        string `json:"Status"`
	}{resp.IdentityToken, resp.Status})
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(v)
}

// search is GET /images/search?term=. berth keeps no search index and
// does not reach out to one: it answers as dockerd does when no index is
// reachable.
func (s *Router) search(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	term := r.URL.Query().Get("term")
	if term == "" {
		return errdefs.New(errdefs.ErrInvalidParameter, "search term must not be empty")
	}
	// dockerd answers 500 with the index's dial error when none is
	// reachable.
	return errdefs.New(errdefs.ErrSystem, "no registry search index is reachable: berthd keeps none and queries none for "+term+"; search your registry's catalogue or web interface instead")
}

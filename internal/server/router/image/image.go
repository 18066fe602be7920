// Package image serves the Engine API's image routes: import (POST
// /images/create?fromSrc=-), list, inspect, tag, history and delete. Its
// Backend is the daemon. Image names may contain slashes
// (docker.io/library/busybox:latest), which a ServeMux wildcard cannot be
// followed by a suffix for, so the per-image routes take the rest of the
// path and split the verb (json, history, tag) off its end.
//
// It imports httputil and errdefs, and the wire types of moby's api module;
// never the daemon.
package image

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// Backend is what the image routes need. Errors carry errdefs classes;
// their text is docker's message ("No such image: x").
type Backend interface {
	// ImportImage makes an image from the root filesystem tar src
	// (plain or compressed), tags it repo[:tag] when repo is not empty,
	// and returns its ID. changes are Dockerfile-style config edits.
	ImportImage(ctx context.Context, src io.Reader, repo, tag, message string, changes []string) (string, error)
	// Images lists the images that pass filters (name → accepted values);
	// an unknown filter is ErrInvalidParameter. Without all, intermediate
	// images (untagged parents of other images) are left out, as docker
	// images does without -a.
	Images(ctx context.Context, filters map[string][]string, all bool) ([]image.Summary, error)
	ImageInspect(ctx context.Context, name string) (image.InspectResponse, error)
	ImageHistory(ctx context.Context, name string) ([]image.HistoryResponseItem, error)
	// TagImage points repo[:tag] at the image name names.
	TagImage(ctx context.Context, name, repo, tag string) error
	// ImageDelete untags or deletes with docker rmi's rules.
	ImageDelete(ctx context.Context, name string, force, prune bool) ([]image.DeleteResponse, error)
	// SaveImages writes the named images to w as a docker save tar;
	// an unknown name fails before anything is written.
	SaveImages(ctx context.Context, w io.Writer, names []string) error
	// LoadImages stores the images of a docker save or OCI layout tar
	// and returns docker's "Loaded image: x" lines for them, with the
	// error that stopped it, if any.
	LoadImages(ctx context.Context, src io.Reader) ([]string, error)
	// ContainerCommit makes an image of the container's changes, tagged
	// repo[:tag] when repo is set, and returns its ID; a running
	// container is paused meanwhile unless pause is false.
	ContainerCommit(ctx context.Context, container, repo, tag, comment, author string, changes []string, pause bool) (string, error)
	// PullImage pulls fromImage (tag: a tag, a digest, or "" for every
	// tag) for platform (os[/arch[/variant]], "" for the host's), writing
	// docker's JSON progress messages to out. An error before anything
	// was written answers the request; a later one goes in the stream.
	PullImage(ctx context.Context, fromImage, tag, platform string, auth registry.AuthConfig, out io.Writer) error
	// PushImage pushes name (tag, or every tag when "") to its
	// registry, writing docker's JSON progress messages to out.
	PushImage(ctx context.Context, name, tag string, auth registry.AuthConfig, out io.Writer) error
	// AuthLogin checks credentials with their registry: ErrUnauthorized
	// with docker's message when it refuses them.
	AuthLogin(ctx context.Context, auth registry.AuthConfig) (registry.AuthResponse, error)
}

// Router serves the image routes from a Backend.
type Router struct {
	backend Backend
}

// New returns the image router for b.
func New(b Backend) *Router { return &Router{backend: b} }

// Routes implements httputil.Router.
func (s *Router) Routes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodPost, Path: "/images/create", Handler: s.create},
		{Method: http.MethodGet, Path: "/images/json", Handler: s.list},
		{Method: http.MethodPost, Path: "/images/prune", Handler: s.prune},
		{Method: http.MethodGet, Path: "/images/get", Handler: s.saveAll},
		{Method: http.MethodPost, Path: "/images/load", Handler: s.load},
		{Method: http.MethodPost, Path: "/commit", Handler: s.commit},
		{Method: http.MethodPost, Path: "/auth", Handler: s.auth},
		{Method: http.MethodGet, Path: "/images/search", Handler: s.search},
		{Method: http.MethodGet, Path: "/images/{name...}", Handler: s.get},
		{Method: http.MethodPost, Path: "/images/{name...}", Handler: s.post},
		{Method: http.MethodDelete, Path: "/images/{name...}", Handler: s.delete},
	}
}

func pageNotFound() error { return errdefs.New(errdefs.ErrNotFound, "page not found") }

// verb splits "<name>/<verb>" at the last slash; ok is false when there
// is no name before it.
func verb(path string) (name, v string, ok bool) {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "", "", false
	}
	return path[:i], path[i+1:], true
}

func (s *Router) get(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	name, v, ok := verb(r.PathValue("name"))
	if !ok {
		return pageNotFound()
	}
	switch v {
	case "json":
		img, err := s.backend.ImageInspect(ctx, name)
		if err != nil {
			return err
		}
		return httputil.WriteJSON(w, http.StatusOK, img)
	case "history":
		h, err := s.backend.ImageHistory(ctx, name)
		if err != nil {
			return err
		}
		return httputil.WriteJSON(w, http.StatusOK, h)
	case "get":
		return s.save(ctx, w, []string{name})
	}
	return pageNotFound()
}

func (s *Router) post(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	name, v, ok := verb(r.PathValue("name"))
	if ok && v == "push" {
		return s.push(ctx, w, r, name)
	}
	if !ok || v != "tag" {
		return pageNotFound()
	}
	q := r.URL.Query()
	if err := s.backend.TagImage(ctx, name, q.Get("repo"), q.Get("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Router) delete(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if name == "" {
		return pageNotFound()
	}
	q := r.URL.Query()
	items, err := s.backend.ImageDelete(ctx, name, boolValue(q.Get("force")), !boolValue(q.Get("noprune")))
	if err != nil {
		return err
	}
	if items == nil {
		items = []image.DeleteResponse{}
	}
	return httputil.WriteJSON(w, http.StatusOK, items)
}

func (s *Router) list(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	filters, err := httputil.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	imgs, err := s.backend.Images(ctx, filters, boolValue(r.URL.Query().Get("all")))
	if err != nil {
		return err
	}
	if imgs == nil {
		imgs = []image.Summary{}
	}
	return httputil.WriteJSON(w, http.StatusOK, imgs)
}

// create imports (fromSrc) or pulls (fromImage). An import answers, as
// dockerd does, with a JSON progress stream whose one message carries the
// new image's ID as its status; the docker CLI prints that status. A
// failure before that message is an ordinary error response.
func (s *Router) create(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch {
	case q.Get("fromImage") != "":
		return s.pull(ctx, w, r)
	case q.Get("fromSrc") == "":
		return errdefs.New(errdefs.ErrInvalidParameter, "one of fromImage or fromSrc is required")
	case q.Get("fromSrc") != "-":
		return errdefs.New(errdefs.ErrNotImplemented, "importing from a URL is not implemented yet; send the tar in the request body (fromSrc=-)")
	}
	id, err := s.backend.ImportImage(ctx, r.Body, q.Get("repo"), q.Get("tag"), q.Get("message"), q["changes"])
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, jsonstream.Message{Status: id})
}

// boolValue reads a boolean query parameter as dockerd does: empty, "0",
// "no", "false" and "none" are false, anything else true.
func boolValue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// saveAll is GET /images/get?names=a&names=b.
func (s *Router) saveAll(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	return s.save(ctx, w, r.URL.Query()["names"])
}

func (s *Router) save(ctx context.Context, w http.ResponseWriter, names []string) error {
	w.Header().Set("Content-Type", "application/x-tar")
	return s.backend.SaveImages(ctx, &headerWriter{w: w}, names)
}

// headerWriter sends the 200 with the first byte, so that an error before
// it is still an ordinary error response.
type headerWriter struct {
	w       http.ResponseWriter
	started bool
}

func (h *headerWriter) Write(p []byte) (int, error) {
	if !h.started {
		h.started = true
		h.w.WriteHeader(http.StatusOK)
	}
	return h.w.Write(p)
}

// load is POST /images/load: the tar is the body; the answer is a JSON
// stream of docker's "Loaded image: x" lines, an error after some images
// were stored being its last message, as dockerd's.
func (s *Router) load(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	lines, err := s.backend.LoadImages(ctx, r.Body)
	if err != nil && len(lines) == 0 {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, l := range lines {
		if err := enc.Encode(jsonstream.Message{Stream: l + "\n"}); err != nil {
			return nil
		}
	}
	if err != nil {
		_ = enc.Encode(jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}})
	}
	return nil
}

// commit is POST /commit?container=&repo=&tag=&comment=&author=&changes=&pause=.
// pause defaults to true, as dockerd's. A config in the body is not
// applied (changes are).
func (s *Router) commit(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("container") == "" {
		return errdefs.New(errdefs.ErrInvalidParameter, "container is required")
	}
	pause := q.Get("pause") == "" || boolValue(q.Get("pause"))
	id, err := s.backend.ContainerCommit(ctx, q.Get("container"), q.Get("repo"), q.Get("tag"), q.Get("comment"), q.Get("author"), q["changes"], pause)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusCreated, map[string]string{"Id": id})
}

// Package exec serves docker's exec routes: POST /containers/{id}/exec,
// POST /exec/{id}/start (hijacked stream unless detached),
// GET /exec/{id}/json and POST /exec/{id}/resize. Its Backend is the
// daemon; it imports errdefs, streams and server/httputil, never the
// daemon.
package exec

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
	"github.com/berth-engine/berth/internal/streams"
)

// Backend is what the exec routes need. Errors carry errdefs classes.
type Backend interface {
	ContainerExecCreate(ctx context.Context, idOrName string, req *container.ExecCreateRequest) (string, error)
	// ContainerExecStart returns once the exec runs (detached) or has
	// ended; with a stream it calls cfg.Hijack once it accepted the start.
	ContainerExecStart(ctx context.Context, execID string, cfg streams.ExecStartConfig) error
	ContainerExecInspect(ctx context.Context, execID string) (*container.ExecInspectResponse, error)
	ContainerExecResize(ctx context.Context, execID string, height, width uint) error
}

// Router serves the exec routes from a Backend.
type Router struct {
	backend Backend
}

// New returns the exec router for b.
func New(b Backend) *Router { return &Router{backend: b} }

// Routes implements httputil.Router.
func (s *Router) Routes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodPost, Path: "/containers/{id}/exec", Handler: s.create},
		{Method: http.MethodPost, Path: "/exec/{id}/start", Handler: s.start},
		{Method: http.MethodGet, Path: "/exec/{id}/json", Handler: s.inspect},
		{Method: http.MethodPost, Path: "/exec/{id}/resize", Handler: s.resize},
	}
}

func invalid(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf(format, args...))
}

func (s *Router) create(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var req container.ExecCreateRequest
	if err := httputil.ReadJSON(w, r, &req); err != nil {
		return err
	}
	id, err := s.backend.ContainerExecCreate(ctx, r.PathValue("id"), &req)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusCreated, container.ExecCreateResponse{ID: id})
}

func (s *Router) start(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var req container.ExecStartRequest
	if r.ContentLength != 0 {
		if err := httputil.ReadJSON(w, r, &req); err != nil {
			return err
		}
	}
	cfg := streams.ExecStartConfig{Detach: req.Detach}
	if req.ConsoleSize != nil {
		cfg.ConsoleSize = *req.ConsoleSize
	}
	if !req.Detach {
		cfg.Hijack = httputil.Hijack(w, r)
	}
	if err := s.backend.ContainerExecStart(ctx, r.PathValue("id"), cfg); err != nil {
		return err
	}
	if req.Detach {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

func (s *Router) inspect(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	resp, err := s.backend.ContainerExecInspect(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, resp)
}

func (s *Router) resize(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	h, err := strconv.ParseUint(r.FormValue("h"), 10, 16)
	if err != nil {
		return invalid("invalid resize height %q: %v", r.FormValue("h"), err)
	}
	wd, err := strconv.ParseUint(r.FormValue("w"), 10, 16)
	if err != nil {
		return invalid("invalid resize width %q: %v", r.FormValue("w"), err)
	}
	if err := s.backend.ContainerExecResize(ctx, r.PathValue("id"), uint(h), uint(wd)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

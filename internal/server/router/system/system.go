// Package system serves /_ping, /version, /info, /events and /system/df.
// Its Backend is the daemon; the events and disk usage routes need the
// optional EventsBackend and DiskUsageBackend, which a backend without
// them (a test's fake) answers with 501; the API version fields of /version come from the server's range
// (httputil), not from the backend, so version policy stays out of the
// daemon.
package system

import (
	"context"
	"net/http"

	"github.com/moby/moby/api/types/system"

	"github.com/berth-engine/berth/internal/server/httputil"
)

// Backend is what the system routes need.
type Backend interface {
	// SystemInfo returns the engine's /info. It fails only if the host
	// cannot be read at all; a fact it cannot learn is left empty.
	SystemInfo(ctx context.Context) (*system.Info, error)
	// SystemVersion returns the engine's /version without the API version
	// fields, which the router fills in.
	SystemVersion(ctx context.Context) (*system.VersionResponse, error)
}

// Router serves the system routes from a Backend.
type Router struct {
	backend Backend
}

// New returns the system router for b.
func New(b Backend) *Router { return &Router{backend: b} }

// Routes implements httputil.Router.
func (s *Router) Routes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodGet, Path: "/_ping", Handler: s.ping},
		{Method: http.MethodHead, Path: "/_ping", Handler: s.ping},
		{Method: http.MethodGet, Path: "/version", Handler: s.version},
		{Method: http.MethodGet, Path: "/info", Handler: s.info},
		{Method: http.MethodGet, Path: "/events", Handler: s.events},
		{Method: http.MethodGet, Path: "/system/df", Handler: s.diskUsage},
	}
}

func (s *Router) ping(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	// dockerd sends "2" when BuildKit serves builds and "1" for its
	// classic builder. berth has no BuildKit: its builder (a later issue)
	// takes the classic /build request.
	h.Set("Builder-Version", "1")
	h.Set("Swarm", "inactive")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	_, err := w.Write([]byte("OK"))
	return err
}

func (s *Router) version(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	v, err := s.backend.SystemVersion(ctx)
	if err != nil {
		return err
	}
	v.APIVersion = httputil.APIVersion
	v.MinAPIVersion = httputil.MinAPIVersion
	for i := range v.Components {
		if v.Components[i].Name != "Engine" {
			continue
		}
		if v.Components[i].Details == nil {
			v.Components[i].Details = map[string]string{}
		}
		v.Components[i].Details["ApiVersion"] = httputil.APIVersion
		v.Components[i].Details["MinAPIVersion"] = httputil.MinAPIVersion
	}
	return httputil.WriteJSON(w, http.StatusOK, v)
}

func (s *Router) info(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	info, err := s.backend.SystemInfo(ctx)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, info)
}

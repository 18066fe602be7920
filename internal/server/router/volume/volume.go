// Package volume serves the Engine API's volume routes: create, list,
// inspect, remove and prune. Its Backend is the daemon.
//
// It imports httputil and errdefs, and the wire types of moby's api module;
// never the daemon or the volume store.
package volume

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	voltypes "github.com/moby/moby/api/types/volume"

	"github.com/berth-engine/berth/internal/server/httputil"
)

// Backend is what the volume routes need. Errors carry errdefs classes;
// their text is docker's message.
type Backend interface {
	// VolumeCreate makes a volume, or returns the one of that name; an
	// empty name gets a generated one. A bad name or option is
	// ErrInvalidParameter.
	VolumeCreate(ctx context.Context, req voltypes.CreateRequest) (voltypes.Volume, error)
	// Volumes lists the volumes passing filters (dangling, driver, label,
	// name); an unknown filter is ErrInvalidParameter.
	Volumes(ctx context.Context, filters map[string][]string) ([]voltypes.Volume, error)
	// VolumeInspect returns one volume; ErrNotFound when there is none.
	VolumeInspect(ctx context.Context, name string) (voltypes.Volume, error)
	// VolumeRemove removes a volume: ErrConflict while a container uses
	// it, ErrNotFound when missing unless force.
	VolumeRemove(ctx context.Context, name string, force bool) error
	// VolumesPrune removes the volumes no container uses: the anonymous
	// ones, or all with the filter all=true; label and label! narrow it.
	VolumesPrune(ctx context.Context, filters map[string][]string) (voltypes.PruneReport, error)
}

// Router serves the volume routes from a Backend.
type Router struct {
	backend Backend
}

// New returns the volume router for b.
func New(b Backend) *Router { return &Router{backend: b} }

// Routes implements httputil.Router.
func (s *Router) Routes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodGet, Path: "/volumes", Handler: s.list},
		{Method: http.MethodPost, Path: "/volumes/create", Handler: s.create},
		{Method: http.MethodPost, Path: "/volumes/prune", Handler: s.prune},
		{Method: http.MethodGet, Path: "/volumes/{name}", Handler: s.inspect},
		{Method: http.MethodDelete, Path: "/volumes/{name}", Handler: s.remove},
	}
}

func (s *Router) list(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	filters, err := httputil.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	vols, err := s.backend.Volumes(ctx, filters)
	if err != nil {
		return err
	}
	if vols == nil {
		vols = []voltypes.Volume{}
	}
	return httputil.WriteJSON(w, http.StatusOK, voltypes.ListResponse{Volumes: vols, Warnings: []string{}})
}

func (s *Router) create(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var req voltypes.CreateRequest
	if err := httputil.ReadJSON(w, r, &req); err != nil {
		return err
	}
	v, err := s.backend.VolumeCreate(ctx, req)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusCreated, v)
}

func (s *Router) inspect(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	v, err := s.backend.VolumeInspect(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, v)
}

func (s *Router) remove(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.backend.VolumeRemove(ctx, r.PathValue("name"), boolValue(r.URL.Query().Get("force"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Router) prune(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	filters, err := httputil.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	// Before API 1.42 prune removed every unused volume, named or not.
	if v := httputil.VersionFromContext(ctx); v != "" && versionLess(v, "1.42") && len(filters["all"]) == 0 {
		filters["all"] = []string{"true"}
	}
	rep, err := s.backend.VolumesPrune(ctx, filters)
	if err != nil {
		return err
	}
	if rep.VolumesDeleted == nil {
		rep.VolumesDeleted = []string{}
	}
	return httputil.WriteJSON(w, http.StatusOK, rep)
}

// versionLess compares "1.NN" API versions.
func versionLess(a, b string) bool {
	minor := func(v string) int {
		_, m, _ := strings.Cut(v, ".")
		n, _ := strconv.Atoi(m)
		return n
	}
	return minor(a) < minor(b)
}

// boolValue reads a boolean query parameter as dockerd does.
func boolValue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

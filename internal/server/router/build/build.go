// Package build serves the Engine API's build-cache routes. berth has no
// image builder yet, so it holds no build cache: POST /build/prune checks its
// filters as dockerd does and reports that nothing was there to delete, which
// is what `docker system prune` and `docker builder prune` need to complete;
// /system/df reports the same empty cache.
//
// It imports httputil and errdefs and moby's api wire types only.
package build

import (
	"context"
	"fmt"
	"net/http"

	buildtypes "github.com/moby/moby/api/types/build"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// Router serves the build-cache routes.
type Router struct{}

// New returns the build-cache router.
func New() *Router { return &Router{} }

// Routes implements httputil.Router.
func (s *Router) Routes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodPost, Path: "/build/prune", Handler: s.prune},
	}
}

// pruneFilters are the filters dockerd's build-cache prune accepts.
var pruneFilters = map[string]bool{
	"until": true, "id": true, "parent": true, "type": true, "description": true,
	"inuse": true, "shared": true, "private": true, "unused-for": true,
}

func (s *Router) prune(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	filters, err := httputil.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	for k := range filters {
		if !pruneFilters[k] {
			return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	return httputil.WriteJSON(w, http.StatusOK, buildtypes.CachePruneReport{CachesDeleted: []string{}})
}

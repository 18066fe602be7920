package image

import (
	"context"
	"net/http"

	"github.com/moby/moby/api/types/image"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// PruneBackend is what POST /images/prune needs; a Backend without it
// answers 501.
type PruneBackend interface {
	// ImagesPrune removes unused images: the dangling ones unless the
	// filters say dangling=false (then every unused one); until, label
	// and label! narrow it. An unknown filter is ErrInvalidParameter.
	ImagesPrune(ctx context.Context, filters map[string][]string) (image.PruneReport, error)
}

func (s *Router) prune(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, ok := s.backend.(PruneBackend)
	if !ok {
		return errdefs.New(errdefs.ErrNotImplemented, "image prune is not supported by this backend")
	}
	filters, err := httputil.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := b.ImagesPrune(ctx, filters)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, rep)
}

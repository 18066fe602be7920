package container

import (
	"context"
	"io"
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// FilesBackend is what the diff and export routes need. A Backend without
// it (a test's fake) answers those routes with 501.
type FilesBackend interface {
	// ContainerChanges lists the container's filesystem changes.
	ContainerChanges(ctx context.Context, idOrName string) ([]container.FilesystemChange, error)
	// ContainerExport writes a tar of the container's filesystem to w,
	// calling start once before the first byte.
	ContainerExport(ctx context.Context, idOrName string, start func(), w io.Writer) error
}

func (s *Router) fileRoutes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodGet, Path: "/containers/{id}/changes", Handler: s.changes},
		{Method: http.MethodGet, Path: "/containers/{id}/export", Handler: s.export},
	}
}

func (s *Router) files() (FilesBackend, error) {
	b, ok := s.backend.(FilesBackend)
	if !ok {
		return nil, errdefs.New(errdefs.ErrNotImplemented, "not supported by this backend")
	}
	return b, nil
}

func (s *Router) changes(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, err := s.files()
	if err != nil {
		return err
	}
	changes, err := b.ContainerChanges(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, changes)
}

func (s *Router) export(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, err := s.files()
	if err != nil {
		return err
	}
	return b.ContainerExport(ctx, r.PathValue("id"), func() {
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
	}, w)
}

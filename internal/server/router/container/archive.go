package container

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// ArchiveBackend is what the archive routes (docker cp) need. A Backend
// without it answers them with 501.
type ArchiveBackend interface {
	// ContainerStatPath stats path inside the container; a missing path is
	// ErrNotFound, an empty one ErrInvalidParameter.
	ContainerStatPath(ctx context.Context, idOrName, path string) (*container.PathStat, error)
	// ContainerArchivePath writes a tar of path inside the container to w,
	// calling start with its stat once before the first byte.
	ContainerArchivePath(ctx context.Context, idOrName, path string, start func(*container.PathStat), w io.Writer) error
	// ContainerExtractToDir unpacks the tar r into the directory path
	// inside the container; an entry that would leave it is
	// ErrInvalidParameter.
	ContainerExtractToDir(ctx context.Context, idOrName, path string, noOverwriteDirNonDir, copyUIDGID bool, r io.Reader) error
}

const pathStatHeader = "X-Docker-Container-Path-Stat"

func (s *Router) archiveRoutes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodHead, Path: "/containers/{id}/archive", Handler: s.archiveHead},
		{Method: http.MethodGet, Path: "/containers/{id}/archive", Handler: s.archiveGet},
		{Method: http.MethodPut, Path: "/containers/{id}/archive", Handler: s.archivePut},
	}
}

func (s *Router) archive() (ArchiveBackend, error) {
	b, ok := s.backend.(ArchiveBackend)
	if !ok {
		return nil, errdefs.New(errdefs.ErrNotImplemented, "not supported by this backend")
	}
	return b, nil
}

func setPathStat(w http.ResponseWriter, st *container.PathStat) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}

func (s *Router) archiveHead(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, err := s.archive()
	if err != nil {
		return err
	}
	st, err := b.ContainerStatPath(ctx, r.PathValue("id"), r.FormValue("path"))
	if err != nil {
		return err
	}
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Router) archiveGet(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, err := s.archive()
	if err != nil {
		return err
	}
	return b.ContainerArchivePath(ctx, r.PathValue("id"), r.FormValue("path"), func(st *container.PathStat) {
		_ = setPathStat(w, st)
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
	}, w)
}

func (s *Router) archivePut(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, err := s.archive()
	if err != nil {
		return err
	}
	if err := b.ContainerExtractToDir(ctx, r.PathValue("id"), r.FormValue("path"),
		boolValue(r, "noOverwriteDirNonDir"), boolValue(r, "copyUIDGID"), r.Body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

package container

import (
	"context"
	"net/http"
	"strconv"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/server/httputil"
	"github.com/berth-engine/berth/internal/streams"
)

// attach hijacks the connection (after the backend has accepted the
// request, so refusals are ordinary HTTP errors) and streams the
// container's stdio over it.
func (s *Router) attach(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	return s.backend.ContainerAttach(ctx, r.PathValue("id"), streams.AttachConfig{
		Stdin: boolValue(r, "stdin"), Stdout: boolValue(r, "stdout"), Stderr: boolValue(r, "stderr"),
		Logs: boolValue(r, "logs"), Stream: boolValue(r, "stream"),
		DetachKeys: r.FormValue("detachKeys"),
		Hijack:     httputil.Hijack(w, r),
	})
}

// consoleDims reads h and w of a resize: docker answers 400 for values
// that are not unsigned numbers.
func consoleDims(r *http.Request) (uint, uint, error) {
	h, err := strconv.ParseUint(r.FormValue("h"), 10, 16)
	if err != nil {
		return 0, 0, invalid("invalid resize height %q: %v", r.FormValue("h"), err)
	}
	w, err := strconv.ParseUint(r.FormValue("w"), 10, 16)
	if err != nil {
		return 0, 0, invalid("invalid resize width %q: %v", r.FormValue("w"), err)
	}
	return uint(h), uint(w), nil
}

func (s *Router) resize(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	h, wd, err := consoleDims(r)
	if err != nil {
		return err
	}
	if err := s.backend.ContainerResize(ctx, r.PathValue("id"), h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Router) pause(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.backend.ContainerPause(ctx, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Router) unpause(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.backend.ContainerUnpause(ctx, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Router) update(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var upd container.UpdateConfig
	if err := httputil.ReadJSON(w, r, &upd); err != nil {
		return err
	}
	resp, err := s.backend.ContainerUpdate(ctx, r.PathValue("id"), &upd)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, resp)
}

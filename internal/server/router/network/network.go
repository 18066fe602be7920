// Package network serves the Engine API's network routes: create, list,
// inspect, remove, prune, connect and disconnect. Its Backend is the
// daemon.
//
// It imports httputil and errdefs, and the wire types of moby's api module;
// never the daemon or the network manager.
package network

import (
	"context"
	"net/http"

	ntypes "github.com/moby/moby/api/types/network"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// Backend is what the network routes need. Errors carry errdefs classes;
// their text is docker's message.
type Backend interface {
	// NetworkCreate makes a network: a taken name is ErrConflict, a
	// predefined name or an overlapping subnet ErrForbidden, bad IPAM
	// ErrInvalidParameter, an unknown driver ErrNotFound.
	NetworkCreate(ctx context.Context, req ntypes.CreateRequest) (ntypes.CreateResponse, error)
	// NetworkList lists the networks passing filters; an unknown filter
	// is ErrInvalidParameter.
	NetworkList(ctx context.Context, filters map[string][]string) ([]ntypes.Summary, error)
	// NetworkInspect returns one network by ID, name or ID prefix with
	// its containers; ErrNotFound when there is none.
	NetworkInspect(ctx context.Context, ref string) (ntypes.Inspect, error)
	// NetworkRemove removes a network: predefined or in use is
	// ErrForbidden.
	NetworkRemove(ctx context.Context, ref string) error
	// NetworksPrune removes the unused user-defined networks.
	NetworksPrune(ctx context.Context, filters map[string][]string) (ntypes.PruneReport, error)
	// NetworkConnect connects a container (at once when it runs).
	NetworkConnect(ctx context.Context, ref string, req ntypes.ConnectRequest) error
	// NetworkDisconnect disconnects a container.
	NetworkDisconnect(ctx context.Context, ref string, req ntypes.DisconnectRequest) error
}

// Router serves the network routes from a Backend.
type Router struct {
	backend Backend
}

// New returns the network router for b.
func New(b Backend) *Router { return &Router{backend: b} }

// Routes implements httputil.Router.
func (s *Router) Routes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodGet, Path: "/networks", Handler: s.list},
		{Method: http.MethodPost, Path: "/networks/create", Handler: s.create},
		{Method: http.MethodPost, Path: "/networks/prune", Handler: s.prune},
		{Method: http.MethodGet, Path: "/networks/{id}", Handler: s.inspect},
		{Method: http.MethodDelete, Path: "/networks/{id}", Handler: s.remove},
		{Method: http.MethodPost, Path: "/networks/{id}/connect", Handler: s.connect},
		{Method: http.MethodPost, Path: "/networks/{id}/disconnect", Handler: s.disconnect},
	}
}

func (s *Router) list(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	filters, err := httputil.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	nets, err := s.backend.NetworkList(ctx, filters)
	if err != nil {
		return err
	}
	if nets == nil {
		nets = []ntypes.Summary{}
	}
	return httputil.WriteJSON(w, http.StatusOK, nets)
}

func (s *Router) create(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var req ntypes.CreateRequest
	if err := httputil.ReadJSON(w, r, &req); err != nil {
		return err
	}
	resp, err := s.backend.NetworkCreate(ctx, req)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusCreated, resp)
}

func (s *Router) inspect(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	n, err := s.backend.NetworkInspect(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, n)
}

func (s *Router) remove(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.backend.NetworkRemove(ctx, r.PathValue("id")); err != nil {
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
	rep, err := s.backend.NetworksPrune(ctx, filters)
	if err != nil {
		return err
	}
	if rep.NetworksDeleted == nil {
		rep.NetworksDeleted = []string{}
	}
	return httputil.WriteJSON(w, http.StatusOK, rep)
}

func (s *Router) connect(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var req ntypes.ConnectRequest
	if err := httputil.ReadJSON(w, r, &req); err != nil {
		return err
	}
	if req.Container == "" {
		return errdefs.New(errdefs.ErrInvalidParameter, "no container specified")
	}
	if err := s.backend.NetworkConnect(ctx, r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Router) disconnect(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var req ntypes.DisconnectRequest
	if err := httputil.ReadJSON(w, r, &req); err != nil {
		return err
	}
	if req.Container == "" {
		return errdefs.New(errdefs.ErrInvalidParameter, "no container specified")
	}
	if err := s.backend.NetworkDisconnect(ctx, r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

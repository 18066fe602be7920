// Package debug serves the Go runtime's profiles under /debug/pprof/ and
// its published variables at /debug/vars, as dockerd does when it runs
// with --debug; cmd/berthd adds this router only then. It imports only
// server/httputil.
package debug

import (
	"context"
	"expvar"
	"net/http"
	"net/http/pprof"

	"github.com/berth-engine/berth/internal/server/httputil"
)

// Router serves the debug routes. It has no state: net/http/pprof reads
// the runtime's.
type Router struct{}

// New returns the debug router.
func New() *Router { return &Router{} }

// Routes implements httputil.Router: dockerd's paths, all GET.
func (Router) Routes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodGet, Path: "/debug/vars", Handler: handle(expvar.Handler().ServeHTTP)},
		{Method: http.MethodGet, Path: "/debug/pprof/", Handler: handle(pprof.Index)},
		{Method: http.MethodGet, Path: "/debug/pprof/cmdline", Handler: handle(pprof.Cmdline)},
		{Method: http.MethodGet, Path: "/debug/pprof/profile", Handler: handle(pprof.Profile)},
		{Method: http.MethodGet, Path: "/debug/pprof/symbol", Handler: handle(pprof.Symbol)},
		{Method: http.MethodGet, Path: "/debug/pprof/trace", Handler: handle(pprof.Trace)},
		// pprof.Index serves the named profiles (goroutine, heap, ...)
		// from the path's last element.
		{Method: http.MethodGet, Path: "/debug/pprof/{name}", Handler: handle(pprof.Index)},
	}
}

func handle(h http.HandlerFunc) httputil.HandlerFunc {
	return func(_ context.Context, w http.ResponseWriter, r *http.Request) error {
		h(w, r)
		return nil
	}
}

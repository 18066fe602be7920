package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// Config is what the server needs besides its routers.
type Config struct {
	// Version is the engine version for the Server header ("dev", "0.3.0").
	Version string
	// Logger receives request errors and recovered panics; nil means slog.Default().
	Logger *slog.Logger
}

// Server serves the Engine API on any number of listeners.
type Server struct {
	cfg     Config
	handler http.Handler
	hs      *http.Server // one for all listeners, so Shutdown reaches each
}

// New returns a server for the routes of routers. It panics if two routes
// have the same method and path, which is a programming error.
func New(cfg Config, routers ...httputil.Router) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	for _, rt := range routers {
		for _, r := range rt.Routes() {
			mux.Handle(r.Method+" "+r.Path, s.wrap(r.Handler))
		}
	}
	s.handler = &dispatcher{mux: mux, s: s}
	s.hs = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the server's http.Handler, for tests with httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve accepts connections on l until Shutdown, and may run for several
// listeners at once. It returns nil after a Shutdown (also one that came
// first, closing l) and the accept error otherwise.
func (s *Server) Serve(l net.Listener) error {
	if err := s.hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting connections, closes the listeners (a unix
// listener removes its socket file) and waits for requests in flight until
// ctx is done; then it closes what is left (long streams such as events or
// logs -f) and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.hs.Shutdown(ctx)
	if err != nil {
		s.hs.Close()
	}
	return err
}

// versionPrefix matches the /v1.NN prefix as dockerd's router does (digits
// and dots); anything else is part of the path.
var versionPrefix = regexp.MustCompile(`^/v([0-9.]+)(/.*)$`)

// dispatcher strips the version prefix, finds the route and answers 404 for
// paths no router serves.
type dispatcher struct {
	mux *http.ServeMux
	s   *Server
}

func (d *dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	version := ""
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		version = m[1]
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = m[2], ""
		r2.URL = &u
		r = r2
	}
	r = r.WithContext(httputil.WithVersion(r.Context(), version))
	if _, pattern := d.mux.Handler(r); pattern == "" {
		// No route, or none for this method: dockerd answers both with 404.
		writeError(w, errdefs.New(errdefs.ErrNotFound, "page not found"))
		return
	}
	d.mux.ServeHTTP(w, r)
}

// wrap adds what every route gets: dockerd's headers, the version check,
// the request's logger, error responses and panic recovery.
func (s *Server) wrap(h httputil.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &responseWriter{ResponseWriter: rw}
		ctx := log.WithLogger(r.Context(), s.cfg.Logger.With("method", r.Method, "path", r.URL.Path))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.G(ctx).Error("handler panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !w.wrote {
					writeError(w, fmt.Errorf("internal server error: %v", p))
				}
			}
		}()
		hdr := w.Header()
		hdr.Set("Server", "Docker/"+s.cfg.Version+" (linux)")
		hdr.Set("Api-Version", httputil.APIVersion)
		hdr.Set("Docker-Experimental", "false")
		hdr.Set("Ostype", "linux")

		log.G(ctx).Debug("request", "api", httputil.VersionFromContext(ctx))
		err := checkVersion(httputil.VersionFromContext(ctx))
		if err == nil {
			err = h(ctx, w, r.WithContext(ctx))
		}
		if err == nil {
			return
		}
		status := errdefs.HTTPStatus(err)
		if status >= 500 {
			log.G(ctx).Error("request failed", "status", status, "error", err)
		} else {
			log.G(ctx).Debug("request failed", "status", status, "error", err)
		}
		if w.wrote {
			// The response is under way (a stream); the status is sent.
			return
		}
		writeError(w, err)
	})
}

func checkVersion(v string) error {
	if compareVersions(v, httputil.MinAPIVersion) < 0 {
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, httputil.MinAPIVersion))
	}
	if compareVersions(v, httputil.APIVersion) > 0 {
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", v, httputil.APIVersion))
	}
	return nil
}

// compareVersions compares dotted versions field by field as numbers; a
// missing or non-numeric field counts as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func writeError(w http.ResponseWriter, err error) {
	status := errdefs.HTTPStatus(err)
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	_ = httputil.WriteJSON(w, status, struct {
		Message string `json:"message"`
	}{err.Error()})
}

// responseWriter records whether the response has started, so that an
// error or a panic after it does not write a second status. Unwrap lets
// http.ResponseController reach Flush and Hijack (attach, exec, events).
type responseWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *responseWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) Flush() {
	w.wrote = true
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

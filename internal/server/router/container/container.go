// Package container serves the /containers routes: create, start, stop,
// kill, restart, rename, wait, remove, inspect, list, prune, top, stats,
// logs, attach (stdio through the container's shim), resize, pause, unpause
// and update. Its Backend is the daemon;
// handlers parse the request, call the backend and write docker's wire
// shapes (github.com/moby/moby/api/types/container).
//
// It imports errdefs, logger (log messages) and server/httputil; never the
// daemon.
package container

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/logger"
	"github.com/berth-engine/berth/internal/server/httputil"
	"github.com/berth-engine/berth/internal/streams"
)

// Backend is what the container routes need. Errors carry errdefs classes;
// ErrNotModified becomes 304.
type Backend interface {
	ContainerCreate(ctx context.Context, name string, req *container.CreateRequest) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, idOrName string) error
	// ContainerStop: timeout nil means the container's own default.
	ContainerStop(ctx context.Context, idOrName string, timeout *int, signal string) error
	ContainerKill(ctx context.Context, idOrName, signal string) error
	ContainerRestart(ctx context.Context, idOrName string, timeout *int, signal string) error
	ContainerRename(ctx context.Context, idOrName, newName string) error
	ContainersPrune(ctx context.Context, filters map[string][]string) (container.PruneReport, error)
	ContainerTop(ctx context.Context, idOrName, psArgs string) (container.TopResponse, error)
	// ContainerStats calls fn per sample: once unless stream.
	ContainerStats(ctx context.Context, idOrName string, stream, oneShot bool, fn func(*container.StatsResponse) error) error
	// ContainerWait fails at once for a missing container; the channel
	// gets the status when cond holds and is closed when ctx ends first.
	ContainerWait(ctx context.Context, idOrName string, cond container.WaitCondition) (<-chan container.WaitResponse, error)
	ContainerRemove(ctx context.Context, idOrName string, force, removeVolumes bool) error
	ContainerInspect(ctx context.Context, idOrName string) (*container.InspectResponse, error)
	// ContainerList: running ones unless all; at most limit when > 0.
	ContainerList(ctx context.Context, all bool, limit int, filters map[string][]string) ([]container.Summary, error)
	// ContainerLogs returns the log reader and whether the container has
	// a TTY (raw stream, no framing).
	ContainerLogs(ctx context.Context, idOrName string) (logger.Reader, bool, error)
	// ContainerAttach streams stdio over the connection cfg.Hijack returns;
	// it calls Hijack only once the request is accepted.
	ContainerAttach(ctx context.Context, idOrName string, cfg streams.AttachConfig) error
	ContainerResize(ctx context.Context, idOrName string, height, width uint) error
	ContainerPause(ctx context.Context, idOrName string) error
	ContainerUnpause(ctx context.Context, idOrName string) error
	ContainerUpdate(ctx context.Context, idOrName string, upd *container.UpdateConfig) (container.UpdateResponse, error)
	// ContainerSize is the disk use of the container's writable layer and
	// of its whole root filesystem (image included), for size=1.
	ContainerSize(ctx context.Context, idOrName string) (rw, rootfs int64, err error)
}

// Router serves the container routes from a Backend.
type Router struct {
	backend Backend
}

// New returns the container router for b.
func New(b Backend) *Router { return &Router{backend: b} }

// Routes implements httputil.Router.
func (s *Router) Routes() []httputil.Route {
	return append([]httputil.Route{
		{Method: http.MethodPost, Path: "/containers/create", Handler: s.create},
		{Method: http.MethodGet, Path: "/containers/json", Handler: s.list},
		{Method: http.MethodPost, Path: "/containers/prune", Handler: s.prune},
		{Method: http.MethodGet, Path: "/containers/{id}/top", Handler: s.top},
		{Method: http.MethodGet, Path: "/containers/{id}/stats", Handler: s.stats},
		{Method: http.MethodPost, Path: "/containers/{id}/start", Handler: s.start},
		{Method: http.MethodPost, Path: "/containers/{id}/stop", Handler: s.stop},
		{Method: http.MethodPost, Path: "/containers/{id}/kill", Handler: s.kill},
		{Method: http.MethodPost, Path: "/containers/{id}/restart", Handler: s.restart},
		{Method: http.MethodPost, Path: "/containers/{id}/rename", Handler: s.rename},
		{Method: http.MethodPost, Path: "/containers/{id}/wait", Handler: s.wait},
		{Method: http.MethodDelete, Path: "/containers/{id}", Handler: s.remove},
		{Method: http.MethodGet, Path: "/containers/{id}/json", Handler: s.inspect},
		{Method: http.MethodGet, Path: "/containers/{id}/logs", Handler: s.logs},
		{Method: http.MethodPost, Path: "/containers/{id}/attach", Handler: s.attach},
		{Method: http.MethodPost, Path: "/containers/{id}/resize", Handler: s.resize},
		{Method: http.MethodPost, Path: "/containers/{id}/pause", Handler: s.pause},
		{Method: http.MethodPost, Path: "/containers/{id}/unpause", Handler: s.unpause},
		{Method: http.MethodPost, Path: "/containers/{id}/update", Handler: s.update},
	}, append(append(s.fileRoutes(), s.archiveRoutes()...), s.wsRoutes()...)...)
}

// boolValue is docker's reading of a query flag: absent, "", "0", "no",
// "false" and "none" are false.
func boolValue(r *http.Request, k string) bool {
	switch strings.ToLower(strings.TrimSpace(r.FormValue(k))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

func invalid(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf(format, args...))
}

func (s *Router) create(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var req container.CreateRequest
	if err := httputil.ReadJSON(w, r, &req); err != nil {
		return err
	}
	resp, err := s.backend.ContainerCreate(ctx, r.URL.Query().Get("name"), &req)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusCreated, resp)
}

func (s *Router) start(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	// A HostConfig in the start body went with API 1.24, the oldest we
	// serve: like dockerd, refuse any body longer than an empty object's
	// few bytes (or of unknown length) rather than ignore it.
	if r.ContentLength > 7 || r.ContentLength == -1 {
		return invalid("starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24")
	}
	if err := s.backend.ContainerStart(ctx, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stopTimeout reads t: nil when absent (the container's own default).
func stopTimeout(r *http.Request) (*int, error) {
	v := r.URL.Query().Get("t")
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, invalid("invalid value for t: %s", v)
	}
	return &n, nil
}

func (s *Router) stop(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if err := s.backend.ContainerStop(ctx, r.PathValue("id"), timeout, r.URL.Query().Get("signal")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Router) restart(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if err := s.backend.ContainerRestart(ctx, r.PathValue("id"), timeout, r.URL.Query().Get("signal")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Router) rename(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.backend.ContainerRename(ctx, r.PathValue("id"), r.URL.Query().Get("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Router) kill(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.backend.ContainerKill(ctx, r.PathValue("id"), r.URL.Query().Get("signal")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Router) wait(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	cond := container.WaitCondition(r.URL.Query().Get("condition"))
	ch, err := s.backend.ContainerWait(ctx, r.PathValue("id"), cond)
	if err != nil {
		return err
	}
	// The status line goes out now, as dockerd sends it: clients (docker
	// run) start the container only once the wait is acknowledged.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	resp, ok := <-ch
	if !ok {
		return nil
	}
	return json.NewEncoder(w).Encode(resp)
}

func (s *Router) remove(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if boolValue(r, "link") {
		return invalid("links are not supported by berth")
	}
	if err := s.backend.ContainerRemove(ctx, r.PathValue("id"), boolValue(r, "force"), boolValue(r, "v")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Router) inspect(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	resp, err := s.backend.ContainerInspect(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if boolValue(r, "size") {
		rw, rootfs, err := s.backend.ContainerSize(ctx, resp.ID)
		if err != nil {
			return err
		}
		resp.SizeRw, resp.SizeRootFs = &rw, &rootfs
	}
	return httputil.WriteJSON(w, http.StatusOK, inspectForVersion(ctx, resp))
}

func (s *Router) list(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return invalid("invalid value for limit: %s", v)
		}
		limit = n
	}
	f, err := httputil.ParseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	list, err := s.backend.ContainerList(ctx, boolValue(r, "all"), limit, f)
	if err != nil {
		return err
	}
	if boolValue(r, "size") {
		for i := range list {
			// A container removed meanwhile keeps zero sizes.
			list[i].SizeRw, list[i].SizeRootFs, _ = s.backend.ContainerSize(ctx, list[i].ID)
		}
	}
	return httputil.WriteJSON(w, http.StatusOK, list)
}

func (s *Router) prune(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	f, err := httputil.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := s.backend.ContainersPrune(ctx, f)
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, rep)
}

func (s *Router) top(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	resp, err := s.backend.ContainerTop(ctx, r.PathValue("id"), r.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	return httputil.WriteJSON(w, http.StatusOK, resp)
}

func (s *Router) stats(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	// stream defaults to true when absent, as in docker.
	stream := r.URL.Query().Get("stream") == "" || boolValue(r, "stream")
	oneShot := boolValue(r, "one-shot")
	if oneShot && stream {
		return invalid("cannot have stream=true and one-shot=true")
	}
	started := false
	enc := json.NewEncoder(w)
	return s.backend.ContainerStats(ctx, r.PathValue("id"), stream, oneShot, func(st *container.StatsResponse) error {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if err := enc.Encode(st); err != nil {
			return err
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return nil
	})
}

// parseTime reads since/until: Unix seconds with optional fraction, an
// RFC 3339 time, or a duration before now ("10m").
func parseTime(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	sec, frac, _ := strings.Cut(v, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, invalid("invalid time value: %s", v)
	}
	var nsec int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, invalid("invalid time value: %s", v)
		}
	}
	return time.Unix(n, nsec), nil
}

// logTimeFormat is docker's fixed-width RFC 3339 for log timestamps.
const logTimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func (s *Router) logs(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	stdout, stderr := boolValue(r, "stdout"), boolValue(r, "stderr")
	if !stdout && !stderr {
		return invalid("Bad parameters: you must choose at least one stream")
	}
	now := time.Now()
	cfg := logger.ReadConfig{Tail: -1, Follow: boolValue(r, "follow")}
	var err error
	if cfg.Since, err = parseTime(q.Get("since"), now); err != nil {
		return err
	}
	if cfg.Until, err = parseTime(q.Get("until"), now); err != nil {
		return err
	}
	if v := q.Get("tail"); v != "" && v != "all" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return invalid("invalid value for tail: %s", v)
		}
		if n >= 0 {
			cfg.Tail = n
		}
	}
	id := r.PathValue("id")
	reader, tty, err := s.backend.ContainerLogs(ctx, id)
	if err != nil {
		return err
	}
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Follow {
		// Following ends when the container stops; the shim reports the
		// exit only after the output is in the log, so the reader takes
		// what the file holds then and ends.
		if ch, err := s.backend.ContainerWait(readCtx, id, container.WaitConditionNotRunning); err == nil {
			done := make(chan struct{})
			cfg.Done = done
			go func() {
				if _, ok := <-ch; ok {
					close(done)
				}
			}()
		}
	}
	if tty {
		w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
	} else {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
	}
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	err = reader.ReadLogs(readCtx, cfg, frameWriter(w, stdout, stderr, tty, boolValue(r, "timestamps"), func() {
		if cfg.Follow && flusher != nil {
			flusher.Flush()
		}
	}))
	if ctx.Err() != nil || readCtx.Err() != nil {
		return nil
	}
	return err
}

// frameWriter returns a log callback that writes each selected message to
// w: with docker's 8-byte header (stream, 0, 0, 0, big-endian length) unless
// tty, optionally after its timestamp; flush runs after each write.
func frameWriter(w io.Writer, stdout, stderr, tty, timestamps bool, flush func()) func(*logger.Message) error {
	var buf []byte
	return func(m *logger.Message) error {
		var stream byte
		switch {
		case m.Source == logger.Stdout && stdout:
			stream = 1
		case m.Source == logger.Stderr && stderr:
			stream = 2
		default:
			return nil
		}
		buf = buf[:0]
		if !tty {
			buf = append(buf, stream, 0, 0, 0, 0, 0, 0, 0)
		}
		start := len(buf)
		if timestamps {
			buf = m.Timestamp.UTC().AppendFormat(buf, logTimeFormat)
			buf = append(buf, ' ')
		}
		buf = append(buf, m.Line...)
		if !m.Partial {
			buf = append(buf, '\n')
		}
		if !tty {
			binary.BigEndian.PutUint32(buf[4:8], uint32(len(buf)-start))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		flush()
		return nil
	}
}

// Package clitest is a fake Engine API server for the CLI's tests: it answers
// _ping, version, info and the list endpoints with JSON built from the API
// types, over a unix socket, and records what it was asked. It stands in for
// berthd (written elsewhere) so the commands can be driven end to end.
package clitest

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
)

// Data is what the fake server answers.
type Data struct {
	APIVersion string // sent in the Api-Version header of every answer
	Version    system.VersionResponse
	Info       system.Info
	Containers []container.Summary
	Images     []image.Summary
	// Inspect holds the containers /containers/{id}/json and DELETE
	// /containers/{id} know, by ID or name; others are 404s.
	Inspect map[string]container.InspectResponse
	// History holds /images/{name}/history answers by name.
	History map[string][]image.HistoryResponseItem
	// Errors maps an unversioned path ("/info") to a status and message the
	// server answers instead.
	Errors map[string]Failure
	// Program is what a created container (or an attached running one of
	// Inspect) runs once started; nil exits 0 at once. ExecProgram is the
	// same for exec instances.
	Program, ExecProgram Program
	// UpdateWarnings are the warnings of every update answer.
	UpdateWarnings []string
}

// Failure is an error answer in the Engine API's shape.
type Failure struct {
	Status  int
	Message string
}

// Request is one request the server received.
type Request struct {
	Method  string
	Version string // the /v1.NN prefix without "v", or ""
	Path    string // without the version prefix
	Query   map[string][]string
}

// Server is a running fake API server.
type Server struct {
	Host string // unix://... for -H or DOCKER_HOST

	mu       sync.Mutex
	requests []Request
	data     Data
	procs    procs
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// Start serves data on a unix socket in a fresh temporary directory until
// the test ends.
func Start(tb testing.TB, data Data) *Server {
	tb.Helper()
	// t.TempDir paths can exceed the 108-byte sun_path limit.
	dir, err := os.MkdirTemp("", "bcli")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s, hs, err := Listen(filepath.Join(dir, "api.sock"), data)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { hs.Close() })
	return s
}

// Listen serves data on the unix socket at path; close the returned
// http.Server to stop.
func Listen(path string, data Data) (*Server, *http.Server, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, nil, err
	}
	s := &Server{Host: "unix://" + path, data: data}
	hs := &http.Server{Handler: s}
	go hs.Serve(ln)
	return s, hs, nil
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ServeHTTP answers like the Engine API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		req.Version, req.Path = m[1], m[2]
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	api := s.data.APIVersion
	if api == "" {
		api = s.data.Version.APIVersion
	}
	w.Header().Set("Api-Version", api)
	w.Header().Set("Ostype", "linux")
	w.Header().Set("Docker-Experimental", "false")
	w.Header().Set("Server", "Berth-fake/"+s.data.Version.Version+" (linux)")
	if f, ok := s.data.Errors[req.Path]; ok {
		writeJSON(w, f.Status, map[string]string{"message": f.Message})
		return
	}
	switch req.Path {
	case "/_ping":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
		if r.Method != http.MethodHead {
			w.Write([]byte("OK"))
		}
	case "/version":
		writeJSON(w, http.StatusOK, s.data.Version)
	case "/info":
		writeJSON(w, http.StatusOK, s.data.Info)
	case "/containers/json":
		items := s.data.Containers
		if items == nil {
			items = []container.Summary{}
		}
		if r.URL.Query().Get("all") == "" {
			running := []container.Summary{}
			for _, c := range items {
				if c.State == container.StateRunning {
					running = append(running, c)
				}
			}
			items = running
		}
		writeJSON(w, http.StatusOK, items)
	case "/images/json":
		items := s.data.Images
		if items == nil {
			items = []image.Summary{}
		}
		writeJSON(w, http.StatusOK, items)
	default:
		s.serveObject(w, r, req.Path)
	}
}

// serveObject answers the per-object endpoints: container inspect and
// remove, image history.
func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, path string) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if s.serveProcs(w, r, parts) {
		return
	}
	switch {
	case len(parts) == 3 && parts[0] == "containers" && parts[2] == "json" && r.Method == http.MethodGet,
		len(parts) == 2 && parts[0] == "containers" && r.Method == http.MethodDelete:
		c, ok := s.data.Inspect[parts[1]]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such container: " + parts[1]})
			return
		}
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, c)
	case len(parts) == 3 && parts[0] == "images" && parts[2] == "history":
		h, ok := s.data.History[parts[1]]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such image: " + parts[1]})
			return
		}
		writeJSON(w, http.StatusOK, h)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

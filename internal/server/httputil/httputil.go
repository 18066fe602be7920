// Package httputil is what routers share with the server: the handler and
// route types, the API version range, the negotiated version in a request's
// context, and JSON helpers. Routers import it, never the server itself.
package httputil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/berth-engine/berth/internal/errdefs"
)

// The API version range. APIVersion is the version of the
// github.com/moby/moby/api module whose types we serve (v1.57.0, Engine API
// 1.57; its openapi.yaml says so); MinAPIVersion is the oldest version Docker's
// daemon still accepts and the oldest we promise.
const (
	APIVersion    = "1.57"
	MinAPIVersion = "1.24"
)

// MaxJSONBody bounds a JSON request body. Streams (image load, build
// contexts, archive uploads) do not go through ReadJSON and are not bounded.
const MaxJSONBody = 10 << 20

// HandlerFunc serves one route. A returned error becomes the response
// {"message": err.Error()} with the status errdefs.HTTPStatus gives, unless
// the handler has already written a response.
type HandlerFunc func(ctx context.Context, w http.ResponseWriter, r *http.Request) error

// Route is one endpoint. Path is a net/http.ServeMux pattern path without
// the /v1.NN prefix (wildcards such as /containers/{id}/json read with
// r.PathValue); Method is GET, HEAD, POST, PUT or DELETE.
type Route struct {
	Method  string
	Path    string
	Handler HandlerFunc
}

// Router is a group of routes, usually one API resource, which declares
// the Backend interface it needs in its own package.
type Router interface {
	Routes() []Route
}

type versionKey struct{}

// WithVersion returns ctx carrying the API version of the request.
func WithVersion(ctx context.Context, v string) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}

// VersionFromContext returns the API version the client asked for (the
// /v1.NN prefix), or APIVersion when the request had no prefix.
func VersionFromContext(ctx context.Context) string {
	if v, ok := ctx.Value(versionKey{}).(string); ok && v != "" {
		return v
	}
	return APIVersion
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// ReadJSON decodes the request body into v, bounded by MaxJSONBody. Like
// dockerd it accepts a missing Content-Type but refuses any other than
// application/json, and it refuses an empty body or trailing data. The
// errors are classed errdefs.ErrInvalidParameter (400), or carry
// *http.MaxBytesError (413) when the body is too large.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("unsupported Content-Type header (%s): must be 'application/json'", ct))
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return fmt.Errorf("request body larger than %d bytes: %w", MaxJSONBody, tooLarge)
		case errors.Is(err, io.EOF):
			return errdefs.New(errdefs.ErrInvalidParameter, "invalid JSON: got EOF while reading request body")
		default:
			return errdefs.New(errdefs.ErrInvalidParameter, "invalid JSON: "+err.Error())
		}
	}
	if dec.More() {
		return errdefs.New(errdefs.ErrInvalidParameter, "unexpected content after JSON")
	}
	return nil
}

// ParseFilters decodes a `filters` query parameter as dockerd accepts it:
// {"key":{"value":true,...}} (the current form; values set to false are
// dropped) or the legacy {"key":["value",...]}, into key → values. An empty
// string is no filters; anything else is ErrInvalidParameter.
func ParseFilters(s string) (map[string][]string, error) {
	out := map[string][]string{}
	if s == "" {
		return out, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, errdefs.New(errdefs.ErrInvalidParameter, "invalid filter: "+err.Error())
	}
	for k, v := range raw {
		var set map[string]bool
		if err := json.Unmarshal(v, &set); err == nil {
			for val, on := range set {
				if on {
					out[k] = append(out[k], val)
				}
			}
			continue
		}
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, "invalid filter '"+k+"'")
		}
		out[k] = append(out[k], list...)
	}
	return out, nil
}

// Package errdefs holds berth's error classes. An error gets its class where it
// starts, by wrapping a sentinel with %w:
//
//	fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
//
// and callers test it with errors.Is. The class becomes an HTTP status in one
// place only, HTTPStatus, which the API server calls at its edge.
//
// It is a leaf: it imports nothing of ours.
package errdefs

import (
	"errors"
	"net/http"
)

// The error classes. Their own text is short because it ends a wrapped
// message ("container x: not found").
var (
	ErrNotFound         = errors.New("not found")
	ErrInvalidParameter = errors.New("invalid parameter")
	ErrConflict         = errors.New("conflict")
	ErrForbidden        = errors.New("forbidden")
	ErrUnauthorized     = errors.New("unauthorized")
	ErrUnavailable      = errors.New("unavailable")
	ErrNotImplemented   = errors.New("not implemented")
	ErrNotModified      = errors.New("not modified")
	// ErrSystem marks a failure of the host or of berth itself; an error
	// with no class is treated the same way.
	ErrSystem = errors.New("system error")
)

// classed is an error whose text is its own message but which also matches
// a class with errors.Is.
type classed struct {
	msg   string
	class error
}

func (e *classed) Error() string { return e.msg }
func (e *classed) Unwrap() error { return e.class }

// New returns an error with exactly the text msg in the given class, for
// messages that must match Docker's word for word (such as
// "No such container: x"), where a ": not found" suffix would not do.
func New(class error, msg string) error {
	return &classed{msg: msg, class: class}
}

// HTTPStatus maps err to the status code the Engine API answers with. An
// error with no class is a 500. A body over the server's limit
// (*http.MaxBytesError) is a 413.
func HTTPStatus(err error) int {
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalidParameter):
		return http.StatusBadRequest
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, ErrNotModified):
		return http.StatusNotModified
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}

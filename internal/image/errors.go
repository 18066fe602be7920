package image

import (
	"errors"
	"strings"
)

// Error classes; the API server maps them to 404, 409 and 400. The error's
// text is docker's message for the case, ready for the wire.
var (
	ErrNotFound         = errors.New("not found")
	ErrConflict         = errors.New("conflict")
	ErrInvalidParameter = errors.New("invalid parameter")
)

type classError struct {
	class error
	msg   string
}

func (e *classError) Error() string { return e.msg }
func (e *classError) Unwrap() error { return e.class }

func notFound(msg string) error    { return &classError{ErrNotFound, msg} }
func conflict(msg string) error    { return &classError{ErrConflict, msg} }
func invalidf(msg string) error    { return &classError{ErrInvalidParameter, msg} }
func noSuchImage(ref string) error { return notFound("No such image: " + ref) }

// shortID is docker's 12-character form of an image or container ID.
func shortID(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

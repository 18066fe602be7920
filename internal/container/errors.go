package container

import "errors"

// Error classes. Every error this package returns wraps exactly one of them
// (errors.Is), and the API edge maps them to HTTP status codes:
// not found 404, conflict 409, invalid parameter 400.
var (
	ErrNotFound         = errors.New("not found")
	ErrConflict         = errors.New("conflict")
	ErrInvalidParameter = errors.New("invalid parameter")
)

// classed is an error whose message is docker's text and whose class is
// one of the sentinels above; the class does not show in Error().
type classed struct {
	msg   string
	class error
}

func (e *classed) Error() string { return e.msg }
func (e *classed) Unwrap() error { return e.class }

// Classed returns an error with message msg (docker's wording, unchanged)
// that matches class under errors.Is. Package oci uses it too.
func Classed(class error, msg string) error { return &classed{msg: msg, class: class} }

func conflict(msg string) error { return Classed(ErrConflict, msg) }
func invalid(msg string) error  { return Classed(ErrInvalidParameter, msg) }
func notFound(msg string) error { return Classed(ErrNotFound, msg) }

package errdefs

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 200},
		{"wrapped not found", fmt.Errorf("container x: %w", ErrNotFound), 404},
		{"twice wrapped invalid", fmt.Errorf("create: %w", fmt.Errorf("bad name: %w", ErrInvalidParameter)), 400},
		{"conflict", ErrConflict, 409},
		{"forbidden", ErrForbidden, 403},
		{"unauthorized", ErrUnauthorized, 401},
		{"unavailable", ErrUnavailable, 503},
		{"not implemented", ErrNotImplemented, 501},
		{"not modified", ErrNotModified, 304},
		{"system", ErrSystem, 500},
		{"unclassed", errors.New("boom"), 500},
		{"New keeps text and class", New(ErrNotFound, "No such container: x"), 404},
		{"body too large", fmt.Errorf("decode: %w", &http.MaxBytesError{Limit: 1}), 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := HTTPStatus(c.err); got != c.want {
				t.Fatalf("HTTPStatus(%v) = %d, want %d", c.err, got, c.want)
			}
		})
	}
}

func TestNewText(t *testing.T) {
	err := New(ErrConflict, "name in use")
	if err.Error() != "name in use" || !errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		t.Fatalf("New: text %q, classes wrong", err)
	}
}

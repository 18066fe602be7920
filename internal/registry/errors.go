package registry

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/berth-engine/berth/internal/errdefs"
)

// Error is a registry's answer other than the one expected. Its text is
// docker's rendering of the registry's error list ("manifest unknown:
// manifest unknown"), or the status when there is none.
type Error struct {
	Status int
	Codes  []string // the errors' codes, e.g. MANIFEST_UNKNOWN
	msg    string
}

func (e *Error) Error() string { return e.msg }

// Unwrap gives the error its class: 401 unauthorized, 403 forbidden, 404
// and the *_UNKNOWN codes not found, 429 and 5xx unavailable.
func (e *Error) Unwrap() error {
	switch {
	case e.Status == http.StatusUnauthorized:
		return errdefs.ErrUnauthorized
	case e.Status == http.StatusForbidden:
		return errdefs.ErrForbidden
	case e.Status == http.StatusNotFound:
		return errdefs.ErrNotFound
	case e.Status == http.StatusTooManyRequests || e.Status >= 500:
		return errdefs.ErrUnavailable
	}
	for _, c := range e.Codes {
		if strings.HasSuffix(c, "_UNKNOWN") {
			return errdefs.ErrNotFound
		}
	}
	return errdefs.ErrSystem
}

// Has reports whether the registry named code among its errors.
func (e *Error) Has(code string) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// responseError reads resp's error body (at most 64 KiB) into an Error.
func responseError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	var list struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	var parts []string
	if json.Unmarshal(body, &list) == nil {
		for _, x := range list.Errors {
			e.Codes = append(e.Codes, x.Code)
			code := strings.ToLower(strings.ReplaceAll(x.Code, "_", " "))
			if x.Message != "" {
				parts = append(parts, code+": "+x.Message)
			} else {
				parts = append(parts, code)
			}
		}
	}
	switch {
	case len(parts) > 0:
		e.msg = strings.Join(parts, ", ")
	case resp.StatusCode == http.StatusUnauthorized:
		e.msg = "unauthorized: authentication required"
	default:
		e.msg = fmt.Sprintf("unexpected status from %s request to %s: %s", resp.Request.Method, resp.Request.URL.Redacted(), resp.Status)
	}
	return e
}

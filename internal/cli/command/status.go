package command

import (
	"fmt"
	"runtime/debug"

	"github.com/berth-engine/berth/internal/version"
)

// StatusError is an error that sets berth's exit status. Status is printed
// when non-empty; StatusCode is the exit code (docker's rules: 125 when
// flags are wrong or, for run, when the daemon fails; 126 when the
// container's command cannot be invoked; 127 when it is not found;
// otherwise the container's own status).
type StatusError struct {
	Status     string
	StatusCode int
	Cause      error
}

func (e StatusError) Error() string {
	if e.Status == "" && e.Cause != nil {
		return e.Cause.Error()
	}
	return fmt.Sprintf("%s, StatusCode: %d", e.Status, e.StatusCode)
}

func (e StatusError) Unwrap() error { return e.Cause }

// ClientVersion is the version this CLI reports.
func ClientVersion() string { return version.Version }

// GoVersion is the Go release the CLI was built with.
func GoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return ""
}

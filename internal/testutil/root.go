package testutil

import (
	"os"
	"testing"
)

// RequiresRoot skips the test unless it runs as uid 0. Tests that mount,
// create namespaces or touch cgroups call it first.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("test requires root")
	}
}

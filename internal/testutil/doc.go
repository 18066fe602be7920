// Package testutil holds helpers shared by berth's tests: skipping tests that
// need root, and building fixture root filesystems and OCI bundles from
// Debian's busybox-static under t.TempDir().
//
// It imports only leaf packages (internal/runtime/specgen), so that every layer
// can use it.
package testutil

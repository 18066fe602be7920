// Package version holds the build's version, set by the Makefile with
// -ldflags "-X github.com/berth-engine/berth/internal/version.Version=...".
// It is a leaf: it imports nothing.
package version

// Version is the release or git description of this build.
var Version = "dev"

// Package cli is berth-runtime's command line: runc's commands, global flags
// and output formats over internal/runtime/container, so that tools written
// for runc (containerd shims, the OCI validation suite, benchmarks) drive
// berth-runtime unchanged. One file per command.
//
// It imports only internal/runtime/... packages.
package cli

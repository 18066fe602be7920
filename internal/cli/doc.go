// Package cli is berth's command line: the root command with docker's
// global flags, the command tree (management commands such as
// `berth container ls` plus docker's top-level aliases such as `berth ps`),
// and Run, which turns errors into docker's messages and exit codes.
//
// Commands live one file per verb under command/<resource>; output goes
// through formatter. The CLI sees only the Engine API types and the Go
// client (github.com/moby/moby/api, .../client): never the daemon, server,
// runtime, image or container packages.
package cli

// Package command holds what every berth command shares: the Cli (streams
// and a lazily connected API client), the APIClient interface the commands
// consume, host resolution and the StatusError that carries an exit code.
// Commands live in subpackages, one file per verb (options struct,
// newXCommand, runX).
//
// It sees only the Engine API types and the Go client: never the daemon,
// server, runtime, image or container packages.
package command

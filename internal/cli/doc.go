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

// Adding a command: write command/<resource>/<verb>.go with an options
// struct, NewXCommand(cli *command.Cli) *cobra.Command and
// runX(ctx, cli, opts); add it in that package's New<Resource>Command and,
// if docker has a top-level alias (`berth rm`), once more in addCommands
// with alias(). Extend command.APIClient (and clitest.FakeClient) with the
// client calls it needs, route any rows through formatter, and test it
// with the fake client and, end to end, with clitest's server and a
// golden file.
//
// Exit codes follow the docker 28 CLI as measured: 0 on success, 125 for
// flag errors, 1 for other errors (a daemon error message, a connection
// failure, a bad template, wrong arguments), and for run the container's
// status or 125/126/127 through command.StatusError.

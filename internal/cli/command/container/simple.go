package container

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func printf(cli *command.Cli, format string, a ...any) { fmt.Fprintf(cli.Out(), format, a...) }

// joinErrors ends a multi-container command: a single error as it is,
// several one per line with status 1.
func joinErrors(args []string, errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return command.StatusError{Status: strings.Join(msgs, "\n"), StatusCode: 1}
}

// exactArgs accepts exactly n positional arguments, with docker's message.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return command.StatusError{
			Status: fmt.Sprintf("%s: '%s' requires %d arguments\n\nUsage:  %s\n\nRun '%s --help' for more information",
				cmd.Root().Name(), cmd.CommandPath(), n, cmd.UseLine(), cmd.CommandPath()),
			StatusCode: 1,
		}
	}
}

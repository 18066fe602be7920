package container

import (
	"context"
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
		plural := "s"
		if n == 1 {
			plural = ""
		}
		return command.StatusError{
			Status: fmt.Sprintf("%s: '%s' requires %d argument%s\n\nUsage:  %s\n\nRun '%s --help' for more information",
				cmd.Root().Name(), cmd.CommandPath(), n, plural, cmd.UseLine(), cmd.CommandPath()),
			StatusCode: 1,
		}
	}
}

// forEach runs f for every argument, printing the argument when f
// succeeds (docker's stop, kill, rm, ... output) and collecting the errors,
// which end the command with status 1, one per line.
func forEach(ctx context.Context, cli *command.Cli, args []string, f func(ctx context.Context, api command.APIClient, arg string) error) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var errs []string
	for _, a := range args {
		if err := f(ctx, api, a); err != nil {
			if len(args) == 1 {
				return err
			}
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprintln(cli.Out(), a)
	}
	if len(errs) > 0 {
		return command.StatusError{Status: strings.Join(errs, "\n"), StatusCode: 1}
	}
	return nil
}

func intPtr(f interface{ Changed(string) bool }, name string, v int) *int {
	if !f.Changed(name) {
		return nil
	}
	return &v
}

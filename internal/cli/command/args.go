package command

import (
	"fmt"

	"github.com/spf13/cobra"
)

// NoArgs refuses positional arguments, with docker's message.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return usageError(cmd, fmt.Sprintf("'%s' accepts no arguments", cmd.CommandPath()))
}

// RequiresMinArgs accepts at least n positional arguments.
func RequiresMinArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		plural := "s"
		if n == 1 {
			plural = ""
		}
		return usageError(cmd, fmt.Sprintf("'%s' requires at least %d argument%s", cmd.CommandPath(), n, plural))
	}
}

// ExactArgs accepts exactly n positional arguments.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		plural := "s"
		if n == 1 {
			plural = ""
		}
		return usageError(cmd, fmt.Sprintf("'%s' requires %d argument%s", cmd.CommandPath(), n, plural))
	}
}

// RequiresMaxArgs accepts at most n positional arguments.
func RequiresMaxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		plural := "s"
		if n == 1 {
			plural = ""
		}
		return usageError(cmd, fmt.Sprintf("'%s' requires at most %d argument%s", cmd.CommandPath(), n, plural))
	}
}

// usageError reports a misuse the way docker does: exit status 1, the
// reason, the usage line and where to find help.
func usageError(cmd *cobra.Command, reason string) error {
	return StatusError{
		Status: fmt.Sprintf("%s: %s\n\nUsage:  %s\n\nRun '%s --help' for more information",
			cmd.Root().Name(), reason, cmd.UseLine(), cmd.CommandPath()),
		StatusCode: 1,
	}
}

// FlagError is cobra's flag-error hook: docker exits 125 on bad flags.
func FlagError(cmd *cobra.Command, err error) error {
	return StatusError{
		Status: fmt.Sprintf("%s\n\nUsage:  %s\n\nRun '%s --help' for more information",
			err, cmd.UseLine(), cmd.CommandPath()),
		StatusCode: 125,
	}
}

// ShowHelp is the RunE of commands that only group others.
func ShowHelp(cli *Cli) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		cmd.SetOut(cli.Out())
		return cmd.Help()
	}
}

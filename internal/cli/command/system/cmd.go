package system

import (
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewSystemCommand returns `berth system` and its verbs.
func NewSystemCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Manage berth",
		Args:  command.NoArgs,
		RunE:  command.ShowHelp(cli),
	}
	cmd.AddCommand(NewInfoCommand(cli), NewEventsCommand(cli), NewDfCommand(cli), NewPruneCommand(cli))
	return cmd
}

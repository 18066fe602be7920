// Package volume holds `berth volume` and its verbs, one file per verb.
package volume

import (
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewVolumeCommand returns `berth volume` and its verbs.
func NewVolumeCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume COMMAND",
		Short: "Manage volumes",
		Args:  command.NoArgs,
		RunE:  command.ShowHelp(cli),
	}
	cmd.AddCommand(
		NewCreateCommand(cli),
		NewListCommand(cli),
		NewInspectCommand(cli),
		NewRemoveCommand(cli),
		NewPruneCommand(cli),
	)
	return cmd
}

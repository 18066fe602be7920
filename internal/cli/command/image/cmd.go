// Package image holds `berth image` and its verbs, one file per verb; the
// top-level aliases (`berth images`) reuse the same constructors.
package image

import (
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewImageCommand returns `berth image` and its verbs.
func NewImageCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  command.NoArgs,
		RunE:  command.ShowHelp(cli),
	}
	cmd.AddCommand(
		NewListCommand(cli),
		NewImportCommand(cli),
		NewInspectCommand(cli),
		NewRemoveCommand(cli),
		NewTagCommand(cli),
		NewHistoryCommand(cli),
		NewPruneCommand(cli),
		NewSaveCommand(cli),
		NewLoadCommand(cli),
		NewPullCommand(cli),
		NewPushCommand(cli),
	)
	return cmd
}

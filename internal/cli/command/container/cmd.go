// Package container holds `berth container` and its verbs, one file per
// verb; the top-level aliases (`berth ps`) reuse the same constructors.
package container

import (
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewContainerCommand returns `berth container` and its verbs.
func NewContainerCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  command.NoArgs,
		RunE:  command.ShowHelp(cli),
	}
	cmd.AddCommand(
		NewListCommand(cli),
		NewRunCommand(cli),
		NewCreateCommand(cli),
		NewStartCommand(cli),
		NewStopCommand(cli),
		NewKillCommand(cli),
		NewRestartCommand(cli),
		NewWaitCommand(cli),
		NewRmCommand(cli),
		NewLogsCommand(cli),
		NewInspectCommand(cli),
		NewTopCommand(cli),
		NewRenameCommand(cli),
		NewPruneCommand(cli),
		NewStatsCommand(cli),
		NewAttachCommand(cli),
		NewExecCommand(cli),
		NewPauseCommand(cli),
		NewUnpauseCommand(cli),
		NewUpdateCommand(cli),
		NewDiffCommand(cli),
		NewExportCommand(cli),
		NewCommitCommand(cli),
		NewPortCommand(cli),
		NewCopyCommand(cli),
	)
	return cmd
}

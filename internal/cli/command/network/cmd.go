// Package network holds `berth network` and its verbs, one file per verb.
package network

import (
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewNetworkCommand returns `berth network` and its verbs.
func NewNetworkCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network COMMAND",
		Short: "Manage networks",
		Args:  command.NoArgs,
		RunE:  command.ShowHelp(cli),
	}
	cmd.AddCommand(
		NewCreateCommand(cli),
		NewListCommand(cli),
		NewInspectCommand(cli),
		NewRemoveCommand(cli),
		NewPruneCommand(cli),
		NewConnectCommand(cli),
		NewDisconnectCommand(cli),
	)
	return cmd
}

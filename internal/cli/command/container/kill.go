package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewKillCommand returns `berth container kill` (also `berth kill`).
func NewKillCommand(cli *command.Cli) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api command.APIClient, id string) error {
				_, err := api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signal})
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

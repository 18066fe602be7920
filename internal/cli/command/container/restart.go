package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewRestartCommand returns `berth container restart` (also `berth restart`).
func NewRestartCommand(cli *command.Cli) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := client.ContainerRestartOptions{Signal: opts.signal, Timeout: intPtr(cmd.Flags(), "timeout", opts.timeout)}
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api command.APIClient, id string) error {
				_, err := api.ContainerRestart(ctx, id, o)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&opts.timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&opts.timeout, "time", 0, "Seconds to wait before killing the container (deprecated: use --timeout)")
	_ = f.MarkHidden("time")
	return cmd
}

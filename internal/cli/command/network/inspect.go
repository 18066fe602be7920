package network

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewInspectCommand returns `berth network inspect`.
func NewInspectCommand(cli *command.Cli) *cobra.Command {
	var format string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			return command.Inspect(cmd.Context(), cli.Out(), args, format, func(ctx context.Context, name string) ([]byte, error) {
				res, err := api.NetworkInspect(ctx, name, client.NetworkInspectOptions{Verbose: verbose})
				if err != nil {
					return nil, err
				}
				return res.Raw, nil
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "Verbose output for diagnostics")
	return cmd
}

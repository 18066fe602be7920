package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type inspectOptions struct {
	format string
	size   bool
}

// NewInspectCommand returns `berth container inspect`.
func NewInspectCommand(cli *command.Cli) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			return command.Inspect(cmd.Context(), cli.Out(), args, opts.format, RawInspect(api, opts.size))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.format, "format", "f", "", "Format output using a custom template")
	f.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes")
	return cmd
}

// RawInspect returns a container's inspect JSON as the daemon sent it.
func RawInspect(api command.APIClient, size bool) command.RawGetter {
	return func(ctx context.Context, ref string) ([]byte, error) {
		res, err := api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{Size: size})
		if err != nil {
			return nil, err
		}
		return res.Raw, nil
	}
}

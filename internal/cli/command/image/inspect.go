package image

import (
	"bytes"
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewInspectCommand returns `berth image inspect`.
func NewInspectCommand(cli *command.Cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			return command.Inspect(cmd.Context(), cli.Out(), args, format, RawInspect(api))
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template")
	return cmd
}

// RawInspect returns an image's inspect JSON as the daemon sent it.
func RawInspect(api command.APIClient) command.RawGetter {
	return func(ctx context.Context, ref string) ([]byte, error) {
		var raw bytes.Buffer
		if _, err := api.ImageInspect(ctx, ref, client.ImageInspectWithRawResponse(&raw)); err != nil {
			return nil, err
		}
		return raw.Bytes(), nil
	}
}

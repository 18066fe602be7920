package image

import (
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewTagCommand returns `berth image tag` (also `berth tag`).
func NewTagCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				return nil
			}
			return command.StatusError{
				Status: fmt.Sprintf("%s: '%s' requires 2 arguments\n\nUsage:  %s\n\nRun '%s --help' for more information",
					cmd.Root().Name(), cmd.CommandPath(), cmd.UseLine(), cmd.CommandPath()),
				StatusCode: 1,
			}
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			_, err = api.ImageTag(cmd.Context(), client.ImageTagOptions{Source: args[0], Target: args[1]})
			return err
		},
	}
}

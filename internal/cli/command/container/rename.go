package container

import (
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewRenameCommand returns `berth container rename` (also `berth rename`).
func NewRenameCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			if _, err := api.ContainerRename(cmd.Context(), args[0], client.ContainerRenameOptions{NewName: args[1]}); err != nil {
				if client.IsErrConnectionFailed(err) {
					return err
				}
				return command.StatusError{Status: fmt.Sprintf("%v\nError: failed to rename container named %s", err, args[0]), StatusCode: 1}
			}
			return nil
		},
	}
}

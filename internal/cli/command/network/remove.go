package network

import (
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewRemoveCommand returns `berth network rm`.
func NewRemoveCommand(cli *command.Cli) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			var errs []string
			for _, name := range args {
				if _, err := api.NetworkRemove(cmd.Context(), name, client.NetworkRemoveOptions{}); err != nil {
					if client.IsErrConnectionFailed(err) {
						return err
					}
					if force && strings.Contains(err.Error(), "not found") {
						continue
					}
					errs = append(errs, err.Error())
					continue
				}
				fmt.Fprintln(cli.Out(), name)
			}
			if len(errs) > 0 {
				return command.StatusError{Status: strings.Join(errs, "\n"), StatusCode: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not error if the network does not exist")
	return cmd
}

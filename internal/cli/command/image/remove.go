package image

import (
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewRemoveCommand returns `berth image rm` (also `berth rmi`).
func NewRemoveCommand(cli *command.Cli) *cobra.Command {
	var force, noPrune bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] IMAGE [IMAGE...]",
		Aliases: []string{"rmi", "remove"},
		Short:   "Remove one or more images",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			var errs []string
			for _, ref := range args {
				res, err := api.ImageRemove(cmd.Context(), ref, client.ImageRemoveOptions{Force: force, PruneChildren: !noPrune})
				if err != nil {
					if client.IsErrConnectionFailed(err) {
						return err
					}
					errs = append(errs, err.Error())
					continue
				}
				for _, d := range res.Items {
					if d.Untagged != "" {
						fmt.Fprintln(cli.Out(), "Untagged:", d.Untagged)
					}
					if d.Deleted != "" {
						fmt.Fprintln(cli.Out(), "Deleted:", d.Deleted)
					}
				}
			}
			if len(errs) > 0 {
				return command.StatusError{Status: strings.Join(errs, "\n"), StatusCode: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&force, "force", "f", false, "Force removal of the image")
	f.BoolVar(&noPrune, "no-prune", false, "Do not delete untagged parents")
	return cmd
}

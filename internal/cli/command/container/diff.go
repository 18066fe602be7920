package container

import (
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewDiffCommand returns `berth container diff` (also `berth diff`).
func NewDiffCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			res, err := api.ContainerDiff(cmd.Context(), args[0], client.ContainerDiffOptions{})
			if err != nil {
				return err
			}
			for _, c := range res.Changes {
				kind := "?"
				switch c.Kind {
				case 0:
					kind = "C"
				case 1:
					kind = "A"
				case 2:
					kind = "D"
				}
				fmt.Fprintln(cli.Out(), kind, c.Path)
			}
			return nil
		},
	}
}

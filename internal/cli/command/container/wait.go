package container

import (
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewWaitCommand returns `berth container wait` (also `berth wait`).
func NewWaitCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			var errs []error
			for _, id := range args {
				w := api.ContainerWait(cmd.Context(), id, client.ContainerWaitOptions{})
				select {
				case r := <-w.Result:
					printf(cli, "%d\n", r.StatusCode)
				case err := <-w.Error:
					errs = append(errs, err)
				}
			}
			return joinErrors(args, errs)
		},
	}
}

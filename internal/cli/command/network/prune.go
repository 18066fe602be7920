package network

import (
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewPruneCommand returns `berth network prune`.
func NewPruneCommand(cli *command.Cli) *cobra.Command {
	var force bool
	filter := command.NewFilterOpt()
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force && !command.Confirm(cli, "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?") {
				return command.StatusError{Status: "Error: network prune has been cancelled", StatusCode: 1}
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			res, err := api.NetworkPrune(cmd.Context(), client.NetworkPruneOptions{Filters: filter.Value()})
			if err != nil {
				return err
			}
			if names := res.Report.NetworksDeleted; len(names) > 0 {
				fmt.Fprintln(cli.Out(), "Deleted Networks:")
				for _, n := range names {
					fmt.Fprintln(cli.Out(), n)
				}
				fmt.Fprintln(cli.Out())
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().Var(filter, "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

package container

import (
	"context"
	"fmt"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type pruneOptions struct {
	force  bool
	filter *command.FilterOpt
}

// NewPruneCommand returns `berth container prune`.
func NewPruneCommand(cli *command.Cli) *cobra.Command {
	opts := pruneOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPrune(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	f.Var(opts.filter, "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

func runPrune(ctx context.Context, cli *command.Cli, opts pruneOptions) error {
	if !opts.force && !command.Confirm(cli, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?") {
		return command.StatusError{Status: "Error: container prune has been cancelled", StatusCode: 1}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ContainerPrune(ctx, client.ContainerPruneOptions{Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	if len(res.Report.ContainersDeleted) > 0 {
		fmt.Fprintln(cli.Out(), "Deleted Containers:")
		for _, id := range res.Report.ContainersDeleted {
			fmt.Fprintln(cli.Out(), id)
		}
		fmt.Fprintln(cli.Out())
	}
	fmt.Fprintf(cli.Out(), "Total reclaimed space: %s\n", units.HumanSize(float64(res.Report.SpaceReclaimed)))
	return nil
}

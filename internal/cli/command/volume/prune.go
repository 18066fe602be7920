package volume

import (
	"context"
	"fmt"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type pruneOptions struct {
	all, force bool
	filter     *command.FilterOpt
}

// NewPruneCommand returns `berth volume prune`.
func NewPruneCommand(cli *command.Cli) *cobra.Command {
	opts := pruneOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPrune(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	f.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	f.Var(opts.filter, "filter", `Provide filter values (e.g. "label=<label>")`)
	return cmd
}

func runPrune(ctx context.Context, cli *command.Cli, opts pruneOptions) error {
	warning := "WARNING! This will remove anonymous local volumes not used by at least one container."
	if opts.all {
		warning = "WARNING! This will remove all local volumes not used by at least one container."
	}
	if !opts.force {
		if !command.Confirm(cli, warning+"\nAre you sure you want to continue?") {
			return command.StatusError{Status: "Error: volume prune has been cancelled", StatusCode: 1}
		}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.VolumePrune(ctx, client.VolumePruneOptions{All: opts.all, Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	out := cli.Out()
	if names := res.Report.VolumesDeleted; len(names) > 0 {
		fmt.Fprintln(out, "Deleted Volumes:")
		for _, n := range names {
			fmt.Fprintln(out, n)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSize(float64(res.Report.SpaceReclaimed)))
	return nil
}

package image

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

// NewPruneCommand returns `berth image prune`.
func NewPruneCommand(cli *command.Cli) *cobra.Command {
	opts := pruneOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPrune(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Remove all unused images, not just dangling ones")
	f.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	f.Var(opts.filter, "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

func runPrune(ctx context.Context, cli *command.Cli, opts pruneOptions) error {
	warning := "WARNING! This will remove all dangling images."
	if opts.all {
		warning = "WARNING! This will remove all images without at least one container associated to them."
	}
	if !opts.force {
		if !command.Confirm(cli, warning+"\nAre you sure you want to continue?") {
			return command.StatusError{Status: "Error: image prune has been cancelled", StatusCode: 1}
		}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	f := opts.filter.Value().Clone()
	f.Add("dangling", fmt.Sprint(!opts.all))
	res, err := api.ImagePrune(ctx, client.ImagePruneOptions{Filters: f})
	if err != nil {
		return err
	}
	out := cli.Out()
	if items := res.Report.ImagesDeleted; len(items) > 0 {
		fmt.Fprintln(out, "Deleted Images:")
		for _, it := range items {
			if it.Untagged != "" {
				fmt.Fprintln(out, "untagged:", it.Untagged)
			} else if it.Deleted != "" {
				fmt.Fprintln(out, "deleted:", it.Deleted)
			}
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSize(float64(res.Report.SpaceReclaimed)))
	return nil
}

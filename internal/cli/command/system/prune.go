package system

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type pruneOptions struct {
	all, force, volumes bool
	filter              *command.FilterOpt
}

// NewPruneCommand returns `berth system prune`: stopped containers, with
// --volumes the anonymous volumes no container uses (named ones are kept
// even with -a, as with docker), then dangling images (every image no
// container uses with -a), through the prune endpoints. berth has no
// networks or build cache to prune yet.
func NewPruneCommand(cli *command.Cli) *cobra.Command {
	opts := pruneOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPrune(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Remove all unused images not just dangling ones")
	f.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	f.BoolVar(&opts.volumes, "volumes", false, "Prune anonymous volumes")
	f.Var(opts.filter, "filter", `Provide filter values (e.g. "label=<key>=<value>")`)
	return cmd
}

func runPrune(ctx context.Context, cli *command.Cli, opts pruneOptions) error {
	for k := range opts.filter.Value() {
		if k != "until" && k != "label" && k != "label!" {
			return fmt.Errorf("invalid filter '%s'", k)
		}
	}
	images := "all dangling images"
	if opts.all {
		images = "all images without at least one container associated to them"
	}
	warning := "WARNING! This will remove:\n  - all stopped containers\n"
	if opts.volumes {
		warning += "  - all anonymous volumes not used by at least one container\n"
	}
	warning += "  - " + images + "\n\nAre you sure you want to continue?"
	if !opts.force && !command.Confirm(cli, warning) {
		return command.StatusError{Status: "Error: system prune has been cancelled", StatusCode: 1}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	out := cli.Out()
	var reclaimed uint64
	cres, err := api.ContainerPrune(ctx, client.ContainerPruneOptions{Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	reclaimed += cres.Report.SpaceReclaimed
	if len(cres.Report.ContainersDeleted) > 0 {
		fmt.Fprintln(out, "Deleted Containers:")
		for _, id := range cres.Report.ContainersDeleted {
			fmt.Fprintln(out, id)
		}
		fmt.Fprintln(out)
	}
	if opts.volumes {
		vf := make(client.Filters)
		for k, vs := range opts.filter.Value() {
			if k == "label" || k == "label!" {
				for v := range vs {
					vf.Add(k, v)
				}
			}
		}
		vres, err := api.VolumePrune(ctx, client.VolumePruneOptions{Filters: vf})
		if err != nil {
			return err
		}
		reclaimed += vres.Report.SpaceReclaimed
		if len(vres.Report.VolumesDeleted) > 0 {
			fmt.Fprintln(out, "Deleted Volumes:")
			for _, n := range vres.Report.VolumesDeleted {
				fmt.Fprintln(out, n)
			}
			fmt.Fprintln(out)
		}
	}
	f := opts.filter.Value().Clone()
	f.Add("dangling", fmt.Sprint(!opts.all))
	ires, err := api.ImagePrune(ctx, client.ImagePruneOptions{Filters: f})
	if err != nil {
		return err
	}
	reclaimed += ires.Report.SpaceReclaimed
	printDeletedImages(out, ires.Report.ImagesDeleted)
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSize(float64(reclaimed)))
	return nil
}

// printDeletedImages lists a prune's untagged and deleted images as
// docker does.
func printDeletedImages(out io.Writer, items []image.DeleteResponse) {
	if len(items) == 0 {
		return
	}
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

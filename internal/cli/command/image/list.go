package image

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type listOptions struct {
	matchName string
	quiet     bool
	all       bool
	noTrunc   bool
	digests   bool
	format    string
	filter    *command.FilterOpt
}

// NewListCommand returns `berth image ls` (also `berth images`).
func NewListCommand(cli *command.Cli) *cobra.Command {
	opts := listOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases: []string{"images", "list"},
		Short:   "List images",
		Args:    command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.matchName = args[0]
			}
			return runList(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVarP(&opts.all, "all", "a", false, "Show all images (default hides intermediate images)")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVar(&opts.digests, "digests", false, "Show digests")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.VarP(opts.filter, "filter", "f", "Filter output based on conditions provided")
	return cmd
}

func runList(ctx context.Context, cli *command.Cli, opts listOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	filters := opts.filter.Value()
	if opts.matchName != "" {
		filters = filters.Clone().Add("reference", opts.matchName)
	}
	format := opts.format
	switch {
	case opts.quiet && format != "" && format != formatter.TableKey:
		fmt.Fprintln(cli.Err(), "WARNING: Ignoring custom format, because both --format and --quiet are set.")
		format = "{{.ID}}"
	case opts.quiet:
		format = "{{.ID}}"
	case format == "" || format == formatter.TableKey:
		format = formatter.ImageFormat
		if opts.digests {
			format = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		}
	}
	res, err := api.ImageList(ctx, client.ImageListOptions{All: opts.all, Filters: filters})
	if err != nil {
		return err
	}
	// As in docker, a template that names the digest shows digests.
	digests := opts.digests || strings.Contains(opts.format, ".Digest")
	now := cli.Now()
	var rows []any
	for _, img := range res.Items {
		for _, r := range formatter.ImageRows(img, !opts.noTrunc, digests, now) {
			rows = append(rows, r)
		}
	}
	return formatter.Context{Output: cli.Out(), Format: formatter.Format(format)}.Write(formatter.ImageHeader, rows)
}

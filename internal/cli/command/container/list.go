package container

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type listOptions struct {
	quiet   bool
	size    bool
	all     bool
	noTrunc bool
	latest  bool
	last    int
	format  string
	filter  *command.FilterOpt
}

// NewListCommand returns `berth container ls` (also `berth ps`).
func NewListCommand(cli *command.Cli) *cobra.Command {
	opts := listOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"ps", "list"},
		Short:   "List containers",
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes")
	f.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&opts.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	f.IntVarP(&opts.last, "last", "n", -1, "Show n last created containers (includes all states)")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.VarP(opts.filter, "filter", "f", "Filter output based on conditions provided")
	return cmd
}

func runList(ctx context.Context, cli *command.Cli, opts listOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	listOpts := client.ContainerListOptions{
		All:     opts.all,
		Limit:   opts.last,
		Size:    opts.size,
		Filters: opts.filter.Value(),
	}
	if opts.latest {
		listOpts.Limit = 1
	}
	if listOpts.Limit != -1 {
		// docker: a limit means all states.
		listOpts.All = true
	}
	format := opts.format
	switch {
	case opts.quiet && format != "" && format != formatter.TableKey:
		fmt.Fprintln(cli.Err(), "WARNING: Ignoring custom format, because both --format and --quiet are set.")
		format = "{{.ID}}"
	case opts.quiet:
		format = "{{.ID}}"
	case format == "" || format == formatter.TableKey:
		format = formatter.ContainerFormat
		if opts.size {
			format += "\t{{.Size}}"
		}
	}
	res, err := api.ContainerList(ctx, listOpts)
	if err != nil {
		return err
	}
	now := cli.Now()
	rows := make([]any, 0, len(res.Items))
	for _, c := range res.Items {
		rows = append(rows, formatter.NewContainerRow(c, !opts.noTrunc, now))
	}
	return formatter.Context{Output: cli.Out(), Format: formatter.Format(format)}.Write(formatter.ContainerHeader, rows)
}

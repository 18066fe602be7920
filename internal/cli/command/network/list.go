package network

import (
	"context"
	"fmt"
	"sort"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type listOptions struct {
	quiet   bool
	noTrunc bool
	format  string
	filter  *command.FilterOpt
}

// NewListCommand returns `berth network ls`.
func NewListCommand(cli *command.Cli) *cobra.Command {
	opts := listOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display network IDs")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate the output")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.VarP(opts.filter, "filter", "f", "Provide filter values (e.g. \"driver=bridge\")")
	return cmd
}

func runList(ctx context.Context, cli *command.Cli, opts listOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	format := opts.format
	switch {
	case opts.quiet && format != "" && format != formatter.TableKey:
		fmt.Fprintln(cli.Err(), "WARNING: Ignoring custom format, because both --format and --quiet are set.")
		format = "{{.ID}}"
	case opts.quiet:
		format = "{{.ID}}"
	case format == "" || format == formatter.TableKey:
		format = formatter.NetworkFormat
	}
	res, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	nets := res.Items
	sort.Slice(nets, func(i, j int) bool { return nets[i].Name < nets[j].Name })
	rows := make([]any, 0, len(nets))
	for _, n := range nets {
		rows = append(rows, formatter.NewNetworkRow(n, !opts.noTrunc))
	}
	return formatter.Context{Output: cli.Out(), Format: formatter.Format(format)}.Write(formatter.NetworkHeader, rows)
}

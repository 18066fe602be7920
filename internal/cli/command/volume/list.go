package volume

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
	quiet  bool
	format string
	filter *command.FilterOpt
}

// NewListCommand returns `berth volume ls`.
func NewListCommand(cli *command.Cli) *cobra.Command {
	opts := listOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display volume names")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.VarP(opts.filter, "filter", "f", "Provide filter values (e.g. \"dangling=true\")")
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
		format = "{{.Name}}"
	case opts.quiet:
		format = "{{.Name}}"
	case format == "" || format == formatter.TableKey:
		format = formatter.VolumeFormat
	}
	res, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	vols := res.Items
	sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
	rows := make([]any, 0, len(vols))
	for _, v := range vols {
		rows = append(rows, formatter.NewVolumeRow(v))
	}
	return formatter.Context{Output: cli.Out(), Format: formatter.Format(format)}.Write(formatter.VolumeHeader, rows)
}

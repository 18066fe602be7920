package image

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/image"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type historyOptions struct {
	human   bool
	quiet   bool
	noTrunc bool
	format  string
}

// NewHistoryCommand returns `berth image history` (also `berth history`).
func NewHistoryCommand(cli *command.Cli) *cobra.Command {
	var opts historyOptions
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return nil
			}
			return command.StatusError{
				Status: fmt.Sprintf("%s: '%s' requires 1 argument\n\nUsage:  %s\n\nRun '%s --help' for more information",
					cmd.Root().Name(), cmd.CommandPath(), cmd.UseLine(), cmd.CommandPath()),
				StatusCode: 1,
			}
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHistory(cmd.Context(), cli, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.human, "human", "H", true, "Print sizes and dates in human readable format")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template")
	return cmd
}

// HistoryFormat is the default table of `berth history`.
const HistoryFormat = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

var historyHeader = formatter.Header{
	"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
	"Size": "SIZE", "Comment": "COMMENT",
}

// historyRow is one layer of an image's history.
type historyRow struct {
	h            image.HistoryResponseItem
	trunc, human bool
	now          time.Time
}

func (r historyRow) ID() string {
	if r.trunc && r.h.ID != "<missing>" {
		return formatter.ShortID(r.h.ID)
	}
	return r.h.ID
}

func (r historyRow) CreatedAt() string {
	if r.human {
		return time.Unix(r.h.Created, 0).Format(time.RFC3339)
	}
	return time.Unix(r.h.Created, 0).UTC().Format(time.RFC3339)
}

func (r historyRow) CreatedSince() string {
	if !r.human {
		return r.CreatedAt()
	}
	return units.HumanDuration(r.now.UTC().Sub(time.Unix(r.h.Created, 0))) + " ago"
}

func (r historyRow) CreatedBy() string {
	s := strings.ReplaceAll(r.h.CreatedBy, "\t", " ")
	if r.trunc {
		s = formatter.Ellipsis(s, 45)
	}
	return s
}

func (r historyRow) Size() string {
	if r.human {
		return units.HumanSizeWithPrecision(float64(r.h.Size), 3)
	}
	return strconv.FormatInt(r.h.Size, 10)
}

func (r historyRow) Comment() string              { return r.h.Comment }
func (r historyRow) MarshalJSON() ([]byte, error) { return formatter.MarshalFields(r) }

func runHistory(ctx context.Context, cli *command.Cli, opts historyOptions, ref string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ImageHistory(ctx, ref)
	if err != nil {
		return err
	}
	format := opts.format
	switch {
	case opts.quiet:
		format = "{{.ID}}"
	case format == "" || format == formatter.TableKey:
		format = HistoryFormat
	}
	now := cli.Now()
	rows := make([]any, 0, len(res.Items))
	for _, h := range res.Items {
		rows = append(rows, historyRow{h: h, trunc: !opts.noTrunc, human: opts.human, now: now})
	}
	return formatter.Context{Output: cli.Out(), Format: formatter.Format(format)}.Write(historyHeader, rows)
}

package system

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type dfOptions struct {
	verbose bool
	format  string
}

// NewDfCommand returns `berth system df`.
func NewDfCommand(cli *command.Cli) *cobra.Command {
	var opts dfOptions
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show berth disk usage",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDf(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.verbose, "verbose", "v", false, "Show detailed information on space usage")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

// dfRow is one line of the summary table.
type dfRow struct {
	typ               string
	total, active     int64
	size, reclaimable int64
}

func (r dfRow) Type() string       { return r.typ }
func (r dfRow) TotalCount() string { return fmt.Sprint(r.total) }
func (r dfRow) Active() string     { return fmt.Sprint(r.active) }
func (r dfRow) Size() string       { return units.HumanSize(float64(r.size)) }

// Reclaimable is the space a prune would free, with its share of the
// total as docker prints it (integer percent) when there is any size.
func (r dfRow) Reclaimable() string {
	s := units.HumanSize(float64(r.reclaimable))
	if r.size > 0 {
		s += fmt.Sprintf(" (%d%%)", r.reclaimable*100/r.size)
	}
	return s
}
func (r dfRow) MarshalJSON() ([]byte, error) { return formatter.MarshalFields(r) }

var dfHeader = formatter.Header{"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}

const dfFormat = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

func runDf(ctx context.Context, cli *command.Cli, opts dfOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	du, err := api.DiskUsage(ctx, client.DiskUsageOptions{Containers: true, Images: true, Volumes: true, BuildCache: true, Verbose: opts.verbose})
	if err != nil {
		return err
	}
	if opts.verbose {
		if opts.format != "" && opts.format != formatter.TableKey {
			return fmt.Errorf("--format is not supported with --verbose yet")
		}
		return writeDfVerbose(cli, du)
	}
	rows := []any{
		dfRow{typ: "Images", total: du.Images.TotalCount, active: du.Images.ActiveCount, size: du.Images.TotalSize, reclaimable: du.Images.Reclaimable},
		dfRow{typ: "Containers", total: du.Containers.TotalCount, active: du.Containers.ActiveCount, size: du.Containers.TotalSize, reclaimable: du.Containers.Reclaimable},
		dfRow{typ: "Local Volumes", total: du.Volumes.TotalCount, active: du.Volumes.ActiveCount, size: du.Volumes.TotalSize, reclaimable: du.Volumes.Reclaimable},
		dfRow{typ: "Build Cache", total: du.BuildCache.TotalCount, active: du.BuildCache.ActiveCount, size: du.BuildCache.TotalSize, reclaimable: du.BuildCache.Reclaimable},
	}
	format := opts.format
	if format == "" || format == formatter.TableKey {
		format = dfFormat
	}
	return formatter.Context{Output: cli.Out(), Format: formatter.Format(format)}.Write(dfHeader, rows)
}

// writeDfVerbose prints each object type's table as docker's df -v does.
func writeDfVerbose(cli *command.Cli, du client.DiskUsageResult) error {
	out := cli.Out()
	now := time.Now()
	if cli.Clock != nil {
		now = cli.Clock()
	}
	fmt.Fprint(out, "Images space usage:\n\n")
	var images []any
	for _, img := range du.Images.Items {
		for _, r := range formatter.ImageRows(img, true, false, now) {
			images = append(images, r)
		}
	}
	if err := (formatter.Context{Output: out, Format: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"}).Write(dfImageHeader, images); err != nil {
		return err
	}
	fmt.Fprint(out, "\nContainers space usage:\n\n")
	var containers []any
	for _, c := range du.Containers.Items {
		c.SizeRootFs = 0 // docker shows the writable layer only here
		containers = append(containers, formatter.NewContainerRow(c, true, now))
	}
	if err := (formatter.Context{Output: out, Format: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"}).Write(dfContainerHeader, containers); err != nil {
		return err
	}
	fmt.Fprint(out, "\nLocal Volumes space usage:\n\n")
	var vols []any
	for _, v := range du.Volumes.Items {
		vols = append(vols, formatter.NewVolumeRow(v))
	}
	if err := (formatter.Context{Output: out, Format: "table {{.Name}}\t{{.Links}}\t{{.Size}}"}).Write(formatter.VolumeHeader, vols); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nBuild cache usage: %s\n\n", units.HumanSize(float64(du.BuildCache.TotalSize)))
	return formatter.Context{Output: out, Format: "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}"}.Write(formatter.Header{
		"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED", "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED",
	}, nil)
}

var dfImageHeader = formatter.Header{
	"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED", "Size": "SIZE",
	"SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "Containers": "CONTAINERS",
}

var dfContainerHeader = formatter.Header{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE",
	"RunningFor": "CREATED", "Status": "STATUS", "Names": "NAMES",
}

package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type statsOptions struct {
	all      bool
	noStream bool
	noTrunc  bool
	format   string
}

// NewStatsCommand returns `berth container stats` (also `berth stats`):
// one sample with --no-stream, else a table redrawn every half second from
// each container's stats stream, until the streams end or the user stops
// it.
func NewStatsCommand(cli *command.Cli) *cobra.Command {
	var opts statsOptions
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStats(cmd.Context(), cli, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&opts.noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate output")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template")
	return cmd
}

// statsRow is one container's line in stats.
type statsRow struct {
	id, name                 string
	cpu, mem                 float64
	memUsage, memLimit       float64
	netRx, netTx, blkR, blkW float64
	pids                     uint64
}

func (r statsRow) Container() string { return r.id }
func (r statsRow) ID() string        { return r.id }
func (r statsRow) Name() string      { return strings.TrimPrefix(r.name, "/") }
func (r statsRow) CPUPerc() string   { return fmt.Sprintf("%.2f%%", r.cpu) }
func (r statsRow) MemPerc() string   { return fmt.Sprintf("%.2f%%", r.mem) }
func (r statsRow) MemUsage() string {
	return units.BytesSize(r.memUsage) + " / " + units.BytesSize(r.memLimit)
}
func (r statsRow) NetIO() string {
	return units.HumanSizeWithPrecision(r.netRx, 3) + " / " + units.HumanSizeWithPrecision(r.netTx, 3)
}
func (r statsRow) BlockIO() string {
	return units.HumanSizeWithPrecision(r.blkR, 3) + " / " + units.HumanSizeWithPrecision(r.blkW, 3)
}
func (r statsRow) PIDs() string                 { return fmt.Sprint(r.pids) }
func (r statsRow) MarshalJSON() ([]byte, error) { return formatter.MarshalFields(r) }

var statsHeader = formatter.Header{
	"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemPerc": "MEM %",
	"MemUsage": "MEM USAGE / LIMIT", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}

const statsFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

func runStats(ctx context.Context, cli *command.Cli, opts statsOptions, args []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	ids := args
	if len(ids) == 0 {
		res, err := api.ContainerList(ctx, client.ContainerListOptions{All: opts.all})
		if err != nil {
			return err
		}
		for _, c := range res.Items {
			ids = append(ids, c.ID)
		}
	}
	format := opts.format
	if format == "" || format == formatter.TableKey {
		format = statsFormat
	}
	if !opts.noStream {
		return streamStats(ctx, cli, api, ids, opts.noTrunc, format)
	}
	var rows []any
	var errs []error
	for _, id := range ids {
		r, err := statsOnce(ctx, api, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !opts.noTrunc {
			r.id = formatter.ShortID(r.id)
		}
		rows = append(rows, r)
	}
	if err := (formatter.Context{Output: cli.Out(), Format: formatter.Format(format)}).Write(statsHeader, rows); err != nil {
		return err
	}
	return joinErrors(ids, errs)
}

func statsOnce(ctx context.Context, api command.APIClient, id string) (statsRow, error) {
	res, err := api.ContainerStats(ctx, id, client.ContainerStatsOptions{Stream: false, IncludePreviousSample: true})
	if err != nil {
		return statsRow{}, err
	}
	defer res.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return statsRow{}, err
	}
	return newStatsRow(id, s), nil
}

// newStatsRow computes docker's figures from one sample and its previous.
func newStatsRow(id string, s container.StatsResponse) statsRow {
	r := statsRow{id: s.ID, name: s.Name, pids: s.PidsStats.Current}
	if r.id == "" {
		r.id = id
	}
	cpuDelta := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	sysDelta := float64(s.CPUStats.SystemUsage) - float64(s.PreCPUStats.SystemUsage)
	ncpu := float64(s.CPUStats.OnlineCPUs)
	if ncpu == 0 {
		ncpu = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
	}
	if cpuDelta > 0 && sysDelta > 0 {
		r.cpu = cpuDelta / sysDelta * ncpu * 100
	}
	usage := float64(s.MemoryStats.Usage)
	// docker subtracts the page cache: inactive_file (v2) or total_inactive_file (v1).
	if v, ok := s.MemoryStats.Stats["inactive_file"]; ok && float64(v) < usage {
		usage -= float64(v)
	} else if v, ok := s.MemoryStats.Stats["total_inactive_file"]; ok && float64(v) < usage {
		usage -= float64(v)
	}
	r.memUsage, r.memLimit = usage, float64(s.MemoryStats.Limit)
	if r.memLimit > 0 {
		r.mem = usage / r.memLimit * 100
	}
	for _, n := range s.Networks {
		r.netRx += float64(n.RxBytes)
		r.netTx += float64(n.TxBytes)
	}
	for _, e := range s.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			r.blkR += float64(e.Value)
		case "write":
			r.blkW += float64(e.Value)
		}
	}
	return r
}

// redrawInterval is how often a live stats table is redrawn, as docker's.
const redrawInterval = 500 * time.Millisecond

// streamStats follows each container's stats stream and redraws the
// table in place every redrawInterval; a container whose
// stream ended keeps its last row. It returns when every stream has
// ended or ctx is done.
func streamStats(ctx context.Context, cli *command.Cli, api command.APIClient, ids []string, noTrunc bool, format string) error {
	var mu sync.Mutex
	latest := map[string]statsRow{}
	var errs []error
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := followStats(ctx, api, id, func(r statsRow) {
				if !noTrunc {
					r.id = formatter.ShortID(r.id)
				}
				mu.Lock()
				latest[id] = r
				mu.Unlock()
			})
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	draw := func() error {
		mu.Lock()
		rows := make([]any, 0, len(ids))
		for _, id := range ids {
			if r, ok := latest[id]; ok {
				rows = append(rows, r)
			}
		}
		mu.Unlock()
		// As docker's: home the cursor, overwrite each line and clear its
		// rest, then clear below, so the screen does not flicker.
		var buf bytes.Buffer
		if err := (formatter.Context{Output: &buf, Format: formatter.Format(format)}).Write(statsHeader, rows); err != nil {
			return err
		}
		var screen strings.Builder
		screen.WriteString("\033[H")
		for _, line := range strings.SplitAfter(buf.String(), "\n") {
			if line == "" {
				continue
			}
			screen.WriteString(strings.TrimSuffix(line, "\n") + "\033[K\n")
		}
		screen.WriteString("\033[J")
		_, err := io.WriteString(cli.Out(), screen.String())
		return err
	}
	tick := time.NewTicker(redrawInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			if err := draw(); err != nil {
				return err
			}
			return joinErrors(ids, errs)
		case <-tick.C:
			if err := draw(); err != nil {
				return err
			}
		}
	}
}

// followStats decodes a container's stats stream, calling fn per sample.
func followStats(ctx context.Context, api command.APIClient, id string, fn func(statsRow)) error {
	res, err := api.ContainerStats(ctx, id, client.ContainerStatsOptions{Stream: true})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var s container.StatsResponse
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		fn(newStatsRow(id, s))
	}
}

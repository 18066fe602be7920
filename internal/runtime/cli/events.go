package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/runtime/cgroups"
	"github.com/berth-engine/berth/internal/runtime/container"
)

func newEventsCommand(g *globalOpts) *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [flags] <container-id>",
		Short: "display container events such as OOM notifications and cpu, memory, and IO usage statistics",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("duration interval must be greater than 0")
			}
			c, err := g.load(args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			if stats {
				return emitStats(enc, c)
			}
			// Stream: stats every interval, and an "oom" event whenever the
			// cgroup's OOM kill counter goes up, until the container stops.
			var lastOOM uint64
			if n, err := c.OOMKillCount(); err == nil {
				lastOOM = n
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				if c.Status() == container.Stopped {
					return nil
				}
				if n, err := c.OOMKillCount(); err == nil && n > lastOOM {
					lastOOM = n
					if err := enc.Encode(cgroups.Event{Type: "oom", ID: c.ID()}); err != nil {
						return err
					}
				}
				if err := emitStats(enc, c); err != nil {
					return err
				}
				<-tick.C
			}
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "display the container's stats then exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "set the stats collection interval")
	return cmd
}

func emitStats(enc *json.Encoder, c *container.Container) error {
	st, err := c.Stats()
	if err != nil {
		return err
	}
	return enc.Encode(cgroups.Event{Type: "stats", ID: c.ID(), Data: st})
}

package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth-engine/berth/internal/cli/command"
)

type updateOptions struct {
	blkioWeight       uint16
	cpuPeriod         int64
	cpuQuota          int64
	cpuShares         int64
	cpus              nanoCPUs
	cpusetCpus        string
	cpusetMems        string
	memory            memBytes
	memoryReservation memBytes
	memorySwap        memSwapBytes
	pidsLimit         int64
	restart           string
}

// NewUpdateCommand returns `berth container update` (also `berth update`).
func NewUpdateCommand(cli *command.Cli) *cobra.Command {
	var opts updateOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpdate(cmd.Context(), cli, cmd.Flags(), &opts, args)
		},
	}
	f := cmd.Flags()
	f.Uint16Var(&opts.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)")
	f.Int64Var(&opts.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	f.Int64Var(&opts.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	f.Int64VarP(&opts.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Var(&opts.cpus, "cpus", "Number of CPUs")
	f.StringVar(&opts.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.StringVar(&opts.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	f.VarP(&opts.memory, "memory", "m", "Memory limit")
	f.Var(&opts.memoryReservation, "memory-reservation", "Memory soft limit")
	f.Var(&opts.memorySwap, "memory-swap", "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
	f.Int64Var(&opts.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.StringVar(&opts.restart, "restart", "", "Restart policy to apply when a container exits")
	return cmd
}

func runUpdate(ctx context.Context, cli *command.Cli, f *pflag.FlagSet, opts *updateOptions, args []string) error {
	if f.NFlag() == 0 {
		return errors.New("you must provide one or more flags when using this command")
	}
	update := client.ContainerUpdateOptions{Resources: &container.Resources{
		BlkioWeight:       opts.blkioWeight,
		CPUPeriod:         opts.cpuPeriod,
		CPUQuota:          opts.cpuQuota,
		CPUShares:         opts.cpuShares,
		NanoCPUs:          int64(opts.cpus),
		CpusetCpus:        opts.cpusetCpus,
		CpusetMems:        opts.cpusetMems,
		Memory:            int64(opts.memory),
		MemoryReservation: int64(opts.memoryReservation),
		MemorySwap:        int64(opts.memorySwap),
	}}
	if f.Changed("pids-limit") {
		p := opts.pidsLimit
		update.Resources.PidsLimit = &p
	}
	if opts.restart != "" {
		rp, err := parseRestart(opts.restart)
		if err != nil {
			return err
		}
		update.RestartPolicy = &rp
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var (
		warnings []string
		errs     []string
	)
	for _, id := range args {
		res, err := api.ContainerUpdate(ctx, id, update)
		if err != nil {
			if client.IsErrConnectionFailed(err) {
				return err
			}
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprintln(cli.Out(), id)
		warnings = append(warnings, res.Warnings...)
	}
	if len(warnings) > 0 {
		fmt.Fprintln(cli.Out(), strings.Join(warnings, "\n"))
	}
	if len(errs) > 0 {
		return command.StatusError{Status: strings.Join(errs, "\n"), StatusCode: 1}
	}
	return nil
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	units "github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

type updateOpts struct {
	resources                             string
	blkioWeight                           uint16
	cpuPeriod, cpuRtPeriod                uint64
	cpuQuota, cpuRtRuntime                int64
	cpuShares                             uint64
	cpusetCpus, cpusetMems                string
	memory, memoryReservation, memorySwap string
	kernelMemory, kernelMemoryTCP         string
	pidsLimit                             int64
}

func newUpdateCommand(g *globalOpts) *cobra.Command {
	return (&updateOpts{}).command(g)
}

func (o *updateOpts) command(g *globalOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update [flags] <container-id>",
		Short: "update container resource constraints",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := o.build(cmd)
			if err != nil {
				return err
			}
			c, err := g.load(args[0])
			if err != nil {
				return err
			}
			return c.Update(r)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.resources, "resources", "r", "", `path to a file containing the resources to update or "-" to read from the standard input`)
	f.Uint16Var(&o.blkioWeight, "blkio-weight", 0, "specifies per cgroup weight, range is from 10 to 1000")
	f.Uint64Var(&o.cpuPeriod, "cpu-period", 0, "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default")
	f.Int64Var(&o.cpuQuota, "cpu-quota", 0, "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period")
	f.Uint64Var(&o.cpuRtPeriod, "cpu-rt-period", 0, "CPU realtime period to be used for hardcapping (in usecs)")
	f.Int64Var(&o.cpuRtRuntime, "cpu-rt-runtime", 0, "CPU realtime hardcap limit (in usecs)")
	f.Uint64Var(&o.cpuShares, "cpu-share", 0, "CPU shares (relative weight vs. other containers)")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPU(s) to use")
	f.StringVar(&o.cpusetMems, "cpuset-mems", "", "Memory node(s) to use")
	f.StringVar(&o.memory, "memory", "", "Memory limit (in bytes)")
	f.StringVar(&o.memoryReservation, "memory-reservation", "", "Memory reservation or soft_limit (in bytes)")
	f.StringVar(&o.memorySwap, "memory-swap", "", "Total memory usage (memory + swap); set '-1' to enable unlimited swap")
	f.StringVar(&o.kernelMemory, "kernel-memory", "", "(obsolete; ignored by the kernel)")
	f.StringVar(&o.kernelMemoryTCP, "kernel-memory-tcp", "", "(obsolete; ignored by the kernel)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Maximum number of pids allowed in the container")
	return cmd
}

// build merges -r's JSON (if any) with the flags given; flags win.
func (o *updateOpts) build(cmd *cobra.Command) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	if o.resources != "" {
		var in io.Reader = os.Stdin
		if o.resources != "-" {
			f, err := os.Open(o.resources)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			in = f
		}
		if err := json.NewDecoder(in).Decode(r); err != nil {
			return nil, fmt.Errorf("decode resources: %w", err)
		}
	}
	ch := cmd.Flags().Changed
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	if ch("blkio-weight") {
		if r.BlockIO == nil {
			r.BlockIO = &specs.LinuxBlockIO{}
		}
		r.BlockIO.Weight = &o.blkioWeight
	}
	if ch("cpu-period") {
		r.CPU.Period = &o.cpuPeriod
	}
	if ch("cpu-quota") {
		r.CPU.Quota = &o.cpuQuota
	}
	if ch("cpu-rt-period") {
		r.CPU.RealtimePeriod = &o.cpuRtPeriod
	}
	if ch("cpu-rt-runtime") {
		r.CPU.RealtimeRuntime = &o.cpuRtRuntime
	}
	if ch("cpu-share") {
		r.CPU.Shares = &o.cpuShares
	}
	if ch("cpuset-cpus") {
		r.CPU.Cpus = o.cpusetCpus
	}
	if ch("cpuset-mems") {
		r.CPU.Mems = o.cpusetMems
	}
	for _, m := range []struct {
		flag, val string
		dst       **int64
	}{
		{"memory", o.memory, &r.Memory.Limit},
		{"memory-reservation", o.memoryReservation, &r.Memory.Reservation},
		{"memory-swap", o.memorySwap, &r.Memory.Swap},
	} {
		if !ch(m.flag) {
			continue
		}
		var v int64 = -1
		if m.val != "-1" {
			n, err := units.RAMInBytes(m.val)
			if err != nil {
				return nil, fmt.Errorf("invalid value for %s: %w", m.flag, err)
			}
			v = n
		}
		*m.dst = &v
	}
	if ch("pids-limit") {
		r.Pids = &specs.LinuxPids{Limit: &o.pidsLimit}
	}
	return r, nil
}

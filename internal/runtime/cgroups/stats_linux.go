package cgroups

import "github.com/opencontainers/cgroups"

// convertStats maps the library's counters onto runc's events shape.
func convertStats(s *cgroups.Stats) *Stats {
	out := &Stats{
		CPU: CPU{
			Usage: CPUUsage{
				Total:        s.CpuStats.CpuUsage.TotalUsage,
				Percpu:       s.CpuStats.CpuUsage.PercpuUsage,
				PercpuKernel: s.CpuStats.CpuUsage.PercpuUsageInKernelmode,
				PercpuUser:   s.CpuStats.CpuUsage.PercpuUsageInUsermode,
				Kernel:       s.CpuStats.CpuUsage.UsageInKernelmode,
				User:         s.CpuStats.CpuUsage.UsageInUsermode,
			},
			Throttling: Throttling{
				Periods:          s.CpuStats.ThrottlingData.Periods,
				ThrottledPeriods: s.CpuStats.ThrottlingData.ThrottledPeriods,
				ThrottledTime:    s.CpuStats.ThrottlingData.ThrottledTime,
			},
			PSI: convertPSI(s.CpuStats.PSI),
		},
		CPUSet: CPUSet{
			CPUs:                  s.CPUSetStats.CPUs,
			CPUExclusive:          s.CPUSetStats.CPUExclusive,
			Mems:                  s.CPUSetStats.Mems,
			MemHardwall:           s.CPUSetStats.MemHardwall,
			MemExclusive:          s.CPUSetStats.MemExclusive,
			MemoryMigrate:         s.CPUSetStats.MemoryMigrate,
			MemorySpreadPage:      s.CPUSetStats.MemorySpreadPage,
			MemorySpreadSlab:      s.CPUSetStats.MemorySpreadSlab,
			MemoryPressure:        s.CPUSetStats.MemoryPressure,
			SchedLoadBalance:      s.CPUSetStats.SchedLoadBalance,
			SchedRelaxDomainLevel: s.CPUSetStats.SchedRelaxDomainLevel,
		},
		Memory: Memory{
			Cache:     s.MemoryStats.Cache,
			Usage:     convertMemoryEntry(s.MemoryStats.Usage),
			Swap:      convertMemoryEntry(s.MemoryStats.SwapUsage),
			Kernel:    convertMemoryEntry(s.MemoryStats.KernelUsage),
			KernelTCP: convertMemoryEntry(s.MemoryStats.KernelTCPUsage),
			Raw:       s.MemoryStats.Stats,
			PSI:       convertPSI(s.MemoryStats.PSI),
		},
		Pids: Pids{
			Current: s.PidsStats.Current,
			Limit:   s.PidsStats.Limit,
		},
		Blkio: Blkio{
			IoServiceBytesRecursive: convertBlkio(s.BlkioStats.IoServiceBytesRecursive),
			IoServicedRecursive:     convertBlkio(s.BlkioStats.IoServicedRecursive),
			IoQueuedRecursive:       convertBlkio(s.BlkioStats.IoQueuedRecursive),
			IoServiceTimeRecursive:  convertBlkio(s.BlkioStats.IoServiceTimeRecursive),
			IoWaitTimeRecursive:     convertBlkio(s.BlkioStats.IoWaitTimeRecursive),
			IoMergedRecursive:       convertBlkio(s.BlkioStats.IoMergedRecursive),
			IoTimeRecursive:         convertBlkio(s.BlkioStats.IoTimeRecursive),
			SectorsRecursive:        convertBlkio(s.BlkioStats.SectorsRecursive),
			PSI:                     convertPSI(s.BlkioStats.PSI),
		},
		Hugetlb: make(map[string]Hugetlb, len(s.HugetlbStats)),
	}
	for size, h := range s.HugetlbStats {
		out.Hugetlb[size] = Hugetlb{Usage: h.Usage, Max: h.MaxUsage, Failcnt: h.Failcnt}
	}
	return out
}

func convertMemoryEntry(d cgroups.MemoryData) MemoryEntry {
	return MemoryEntry{Limit: d.Limit, Usage: d.Usage, Max: d.MaxUsage, Failcnt: d.Failcnt}
}

func convertBlkio(in []cgroups.BlkioStatEntry) []BlkioEntry {
	if len(in) == 0 {
		return nil
	}
	out := make([]BlkioEntry, len(in))
	for i, e := range in {
		out[i] = BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value}
	}
	return out
}

func convertPSI(p *cgroups.PSIStats) *PSIStats {
	if p == nil {
		return nil
	}
	conv := func(d cgroups.PSIData) PSIData {
		return PSIData{Avg10: d.Avg10, Avg60: d.Avg60, Avg300: d.Avg300, Total: d.Total}
	}
	return &PSIStats{Some: conv(p.Some), Full: conv(p.Full)}
}

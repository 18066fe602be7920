package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
)

// The runtime spec (config.md, "Valid values"): runtimes MUST generate an
// error when invalid or unsupported values are encountered. These checks
// turn "this host cannot do it" into an error that names the spec field and
// the reason, before anything is created, instead of the library's
// "cannot set hugetlb limit: container could not join or create cgroup" or
// a bare `failed to write "8:0 102400": no such device`. runc 1.1 refuses
// the same configurations, with those less helpful messages.

// need is a v1 controller a limit needs, and the spec field that sets it.
type need struct{ subsystem, field string }

// v1Needs lists the v1 controllers the limits in r (and kernelTCP) write to.
// devices and freezer are not listed: the library itself requires devices,
// and freezer carries no limit.
func v1Needs(r *cgroups.Resources, kernelTCP int64) []need {
	var out []need
	add := func(set bool, subsystem, field string) {
		if set {
			out = append(out, need{subsystem, field})
		}
	}
	add(r.Memory != 0 || r.MemoryReservation != 0 || r.MemorySwap != 0 || r.MemorySwappiness != nil ||
		r.OomKillDisable || kernelTCP != 0, "memory", "memory")
	add(r.CpuShares != 0 || r.CpuQuota != 0 || r.CpuPeriod != 0 || r.CpuRtRuntime != 0 || r.CpuRtPeriod != 0 ||
		r.CpuBurst != nil || r.CPUIdle != nil, "cpu", "cpu")
	add(r.CpusetCpus != "" || r.CpusetMems != "", "cpuset", "cpu.cpus/cpu.mems")
	add(r.PidsLimit != nil, "pids", "pids")
	add(r.BlkioWeight != 0 || r.BlkioLeafWeight != 0 || len(r.BlkioWeightDevice) > 0 ||
		len(r.BlkioThrottleReadBpsDevice) > 0 || len(r.BlkioThrottleWriteBpsDevice) > 0 ||
		len(r.BlkioThrottleReadIOPSDevice) > 0 || len(r.BlkioThrottleWriteIOPSDevice) > 0, "blkio", "blockIO")
	add(len(r.HugetlbLimit) > 0, "hugetlb", "hugepageLimits")
	add(r.NetClsClassid != 0, "net_cls", "network.classID")
	add(len(r.NetPrioIfpriomap) > 0, "net_prio", "network.priorities")
	add(len(r.Rdma) > 0, "rdma", "rdma")
	return out
}

// checkV1Controllers fails with ErrHostUnsupported when a limit in r
// needs a v1 controller that has no hierarchy in paths (not mounted, or not
// built into the kernel). On a hybrid host such a controller may still be
// listed in the unified hierarchy's cgroup.controllers (hugetlb often is),
// but the v1 driver, like runc's, sets limits only through v1 hierarchies.
func checkV1Controllers(r *cgroups.Resources, kernelTCP int64, paths map[string]string) error {
	for _, n := range v1Needs(r, kernelTCP) {
		if _, ok := paths[n.subsystem]; !ok {
			return fmt.Errorf("%s: %w: the %s controller has no cgroup v1 hierarchy", n.field, ErrHostUnsupported, n.subsystem)
		}
	}
	return nil
}

// checkHost checks the values in r that name something of the host's:
// huge page sizes (sysfs/kernel/mm/hugepages) and block devices
// (sysfs/dev/block). It is skipped when sysfs is "" (tests without one).
func checkHost(r *cgroups.Resources, sysfs string) error {
	if sysfs == "" {
		return nil
	}
	if len(r.HugetlbLimit) > 0 {
		sizes, err := hugePageSizes(filepath.Join(sysfs, "kernel/mm/hugepages"))
		if err != nil {
			return fmt.Errorf("hugepageLimits: %w: %w", ErrHostUnsupported, err)
		}
		for i, l := range r.HugetlbLimit {
			if !slices.Contains(sizes, l.Pagesize) {
				return fmt.Errorf("hugepageLimits[%d]: %w: page size %s is not one of this kernel's (%s)",
					i, ErrHostUnsupported, l.Pagesize, strings.Join(sizes, ", "))
			}
		}
	}
	devs := []struct {
		field string
		devs  []*cgroups.ThrottleDevice
	}{
		{"blockIO.throttleReadBpsDevice", r.BlkioThrottleReadBpsDevice},
		{"blockIO.throttleWriteBpsDevice", r.BlkioThrottleWriteBpsDevice},
		{"blockIO.throttleReadIOPSDevice", r.BlkioThrottleReadIOPSDevice},
		{"blockIO.throttleWriteIOPSDevice", r.BlkioThrottleWriteIOPSDevice},
	}
	for i, wd := range r.BlkioWeightDevice {
		if err := checkHostBlockDevice(sysfs, fmt.Sprintf("blockIO.weightDevice[%d]", i), wd.Major, wd.Minor); err != nil {
			return err
		}
	}
	for _, d := range devs {
		for i, td := range d.devs {
			if err := checkHostBlockDevice(sysfs, fmt.Sprintf("%s[%d]", d.field, i), td.Major, td.Minor); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkHostBlockDevice fails unless major:minor is a whole disk: the kernel
// refuses blkio settings for a partition or a missing device (ENODEV).
func checkHostBlockDevice(sysfs, field string, major, minor int64) error {
	dev := filepath.Join(sysfs, "dev/block", fmt.Sprintf("%d:%d", major, minor))
	if _, err := os.Stat(dev); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %w: no block device %d:%d", field, ErrHostUnsupported, major, minor)
		}
		return fmt.Errorf("%s: %w", field, err)
	}
	if _, err := os.Stat(filepath.Join(dev, "partition")); err == nil {
		return fmt.Errorf("%s: %w: block device %d:%d is a partition (I/O limits apply to whole disks only)", field, ErrHostUnsupported, major, minor)
	}
	return nil
}

// hugePageSizes lists the kernel's huge page sizes the way the spec and the
// hugetlb file names write them ("2MB", "1GB"), from the hugepages-<n>kB
// directories in dir.
func hugePageSizes(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("this kernel has no huge pages")
		}
		return nil, err
	}
	var sizes []string
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		s, ok = strings.CutSuffix(s, "kB")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(s, 10, 64)
		if err != nil || kb == 0 {
			continue
		}
		sizes = append(sizes, pageSizeName(kb))
	}
	if len(sizes) == 0 {
		return nil, errors.New("this kernel has no huge pages")
	}
	slices.Sort(sizes)
	return sizes, nil
}

// pageSizeName names a huge page size given in KiB as the kernel names its
// hugetlb.<size>.* files (mm/hugetlb_cgroup.c, mem_fmt): whole GB, else MB,
// else KB.
func pageSizeName(kb uint64) string {
	switch {
	case kb >= 1<<20:
		return strconv.FormatUint(kb>>20, 10) + "GB"
	case kb >= 1<<10:
		return strconv.FormatUint(kb>>10, 10) + "MB"
	}
	return strconv.FormatUint(kb, 10) + "KB"
}

// checkV1Blkio fails when r sets a proportional weight that the blkio
// cgroup in dir has no file for. Weights exist only under the BFQ I/O
// scheduler (blkio.bfq.weight*) or, before Linux 5.0, CFQ (blkio.weight*,
// blkio.leaf_weight*); with mq-deadline, kyber or none there is nothing to
// write, and the library would fail on a missing blkio.bfq.weight. The files
// are looked for in the container's own directory: BFQ does not show them in
// the root cgroup.
func checkV1Blkio(r *cgroups.Resources, dir string) error {
	has := func(f string) bool {
		_, err := os.Stat(filepath.Join(dir, f))
		return err == nil
	}
	weight := r.BlkioWeight != 0
	leaf := r.BlkioLeafWeight != 0
	for _, wd := range r.BlkioWeightDevice {
		weight = weight || wd.Weight != 0
		leaf = leaf || wd.LeafWeight != 0
	}
	if weight && !has("blkio.weight") && !has("blkio.bfq.weight") {
		return fmt.Errorf("blockIO.weight/weightDevice: %w: blkio has no proportional weight "+
			"(it needs the BFQ I/O scheduler; neither blkio.weight nor blkio.bfq.weight exists)", ErrHostUnsupported)
	}
	if leaf && !has("blkio.leaf_weight") {
		return fmt.Errorf("blockIO.leafWeight: %w: blkio.leaf_weight does not exist "+
			"(it came with the CFQ I/O scheduler, removed in Linux 5.0)", ErrHostUnsupported)
	}
	return nil
}

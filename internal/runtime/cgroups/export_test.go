//go:build linux

package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// newFakeV2 builds a v2 manager whose cgroup is dir, inside a fake cgroupfs
// made of plain files under t.TempDir().
//
// Two things in github.com/opencontainers/cgroups cannot work on plain files,
// and this is where the test works around them:
//   - Every cgroup file is opened through a check that it lives on a
//     cgroup/cgroup2 filesystem (statfs magic). The library exports TestMode
//     for exactly this case; it also makes writes create/truncate the file.
//     It is a package global, so it is switched back off in t.Cleanup and
//     tests using it must not run in parallel.
//   - fs2.CreateCgroupPath only accepts paths under /sys/fs/cgroup and reads
//     /sys/fs/cgroup/cgroup.controllers, so the create step is replaced by a
//     mkdir. Everything after it (Set, joining, stats, freezer, Update) is
//     the production code path.
//
// Device rules are skipped: on v2 they are an eBPF program attached to the
// cgroup directory's fd, which the kernel refuses for a non-cgroup directory.
func newFakeV2(t *testing.T, id string, spec *specs.Spec, dir string) (*Manager, error) {
	t.Helper()
	cgroups.TestMode = true
	t.Cleanup(func() { cgroups.TestMode = false })
	m, err := newManager(id, spec, Options{}, true, dir)
	if err != nil {
		return nil, err
	}
	m.createV2 = func(dir string, _ *cgroups.Cgroup) error { return os.MkdirAll(dir, 0o755) }
	m.config.Resources.SkipDevices = true
	// The host checks look at a sysfs that has what the fake tests name.
	m.sysfs = fakeSysfs(t, []string{"8:16"}, []string{"2048", "1048576"})
	return m, nil
}

// fakeSysfs lays out the parts of /sys that checkHost reads: a whole disk
// dev/block/<dev> per entry of disks (a "<dev>p" entry is a partition of
// <dev>'s numbers without the suffix), and kernel/mm/hugepages-<kb>kB per
// entry of hugeKB.
func fakeSysfs(t *testing.T, disks, hugeKB []string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range disks {
		dev, part := strings.CutSuffix(d, "p")
		dir := filepath.Join(root, "dev/block", dev)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if part {
			if err := os.WriteFile(filepath.Join(dir, "partition"), []byte("1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, kb := range hugeKB {
		if err := os.MkdirAll(filepath.Join(root, "kernel/mm/hugepages", "hugepages-"+kb+"kB"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// newHybridV2 builds a v2 manager for a real cgroup2 directory in the unified
// hierarchy of a hybrid host (/sys/fs/cgroup/unified/...). The create step
// is a mkdir: fs2.CreateCgroupPath assumes a unified-only host (it reads
// /sys/fs/cgroup/cgroup.controllers to enable controllers). Everything else,
// device eBPF program included, is the production path on a real cgroup2.
func newHybridV2(id string, spec *specs.Spec, dir string) (*Manager, error) {
	m, err := newManager(id, spec, Options{}, true, dir)
	if err != nil {
		return nil, err
	}
	m.createV2 = func(dir string, _ *cgroups.Cgroup) error { return os.MkdirAll(dir, 0o755) }
	return m, nil
}

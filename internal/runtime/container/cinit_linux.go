package container

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/runtime/nsexec"
	"github.com/berth-engine/berth/internal/runtime/rootfs"
)

// cInit returns the container init for the C stage to perform by itself
// (nsexec.Init with its process), or nil when the spec needs the Go init:
// a user namespace, a joined or missing mount namespace, --no-pivot,
// hooks that run in or wait for the init,
// a personality, an I/O priority or scheduler, or anything rootfs.Compile
// leaves to Go (spec errors included, so they keep the Go init's
// messages). Skipping the Go init saves its runtime start and the JSON
// config exchange, ~2.5 ms of every create here. BERTH_RUNTIME_GO_INIT=1
// forces the Go init, for comparison.
func cInit(spec *specs.Spec, plan *namespacePlan, rootfsPath, bundle string, opts CreateOpts, bpf []byte) (*nsexec.Init, *nsexec.Exec, error) {
	if os.Getenv("BERTH_RUNTIME_GO_INIT") == "1" {
		return nil, nil, nil
	}
	if !plan.newOf[specs.MountNamespace] || plan.has[specs.UserNamespace] || opts.NoPivot {
		return nil, nil, nil
	}
	p := spec.Process
	if spec.Linux.Personality != nil {
		return nil, nil, nil
	}
	if h := spec.Hooks; h != nil && (len(h.Prestart) > 0 || len(h.CreateRuntime) > 0 || //nolint:staticcheck // prestart is deprecated but still honoured
		len(h.CreateContainer) > 0 || len(h.StartContainer) > 0) {
		return nil, nil, nil
	}
	ex, err := cProcess(p, opts.PreserveFDs, bpf)
	if err != nil || ex == nil {
		return nil, nil, err
	}
	rp, err := rootfs.Compile(&rootfs.Config{
		Rootfs: rootfsPath, Bundle: bundle, Spec: spec, NoPivot: opts.NoPivot,
		CgroupNS: plan.has[specs.CgroupNamespace],
	})
	if err != nil {
		return nil, nil, nil // the Go init decides, and reports errors in its words
	}
	in := &nsexec.Init{
		NewCgroupNS: plan.cgroupNew, CgroupNS: plan.has[specs.CgroupNamespace],
		Rootfs: rootfsPath, Propagation: rp.Propagation, DevLinks: rp.DevLinks,
		Hostname: spec.Hostname, Domainname: spec.Domainname, MkdirCwd: p.Cwd,
		Loopback:      plan.newOf[specs.NetworkNamespace],
		ReadonlyPaths: rp.ReadonlyPaths, MaskedPaths: rp.MaskedPaths,
		ReadonlyRoot: rp.ReadonlyRoot, FinalPropagation: rp.FinalPropagation, Trace: traceOn,
	}
	if sz := p.ConsoleSize; p.Terminal && sz != nil && sz.Height > 0 && sz.Width > 0 && sz.Height <= 0xffff && sz.Width <= 0xffff {
		in.ConsoleRows, in.ConsoleCols = uint16(sz.Height), uint16(sz.Width)
	}
	for _, m := range rp.Mounts {
		in.Mounts = append(in.Mounts, nsexec.Mount{
			Kind: int(m.Kind), Source: m.Source, Dest: m.Dest, FSType: m.FSType, Flags: m.Flags, Data: m.Data,
			File: m.File, KeepMode: m.KeepMode, Remount: m.Remount, RemountFlags: m.RemountFlags, Clear: m.Clear,
			Propagation: m.Propagation, Rec: m.Rec, RecSet: m.RecSet, RecClr: m.RecClr, CgroupAttrs: m.CgroupAttrs,
		})
	}
	for _, d := range rp.Devices {
		in.Devices = append(in.Devices, nsexec.Device{Path: d.Path, Kind: d.Kind, Major: d.Major, Minor: d.Minor, Mode: d.Mode, UID: d.UID, GID: d.GID})
	}
	for _, d := range rp.DelayedRO {
		in.DelayedRO = append(in.DelayedRO, nsexec.DelayedRO{Dest: d.Dest, Rec: d.Rec})
	}
	// The Go init writes the sysctls in map order; any order is equal, a
	// sorted one is reproducible.
	keys := make([]string, 0, len(spec.Linux.Sysctl))
	for k := range spec.Linux.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rel := strings.TrimPrefix(filepath.Join("/", strings.ReplaceAll(k, ".", "/")), "/")
		if strings.Contains(rel, "=") {
			return nil, nil, nil
		}
		in.Sysctls = append(in.Sysctls, [2]string{rel, spec.Linux.Sysctl[k]})
	}
	return in, ex, nil
}

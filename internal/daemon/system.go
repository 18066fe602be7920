package daemon

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"

	"github.com/berth-engine/berth/internal/version"
)

// SystemInfo implements the system router's Backend.
func (d *Daemon) SystemInfo(ctx context.Context) (*system.Info, error) {
	h := probeHost(d.cfg.DataRoot)
	name, _ := os.Hostname()
	info := &system.Info{
		ID: d.id,

		Driver:       d.cfg.StorageDriver,
		DriverStatus: [][2]string{{"Backing Filesystem", h.backingFS}},
		Plugins: system.PluginsInfo{
			Volume:  []string{"local"},
			Network: []string{"bridge", "host", "macvlan", "null"},
			Log:     []string{"json-file"},
		},
		MemoryLimit:    h.cg.memory,
		SwapLimit:      h.cg.swap,
		CPUCfsPeriod:   h.cg.cfs,
		CPUCfsQuota:    h.cg.cfs,
		CPUShares:      h.cg.shares,
		CPUSet:         h.cg.cpuset,
		PidsLimit:      h.cg.pids,
		OomKillDisable: h.cg.oomKillDisable,
		IPv4Forwarding: h.ipv4Forwarding,
		Debug:          d.cfg.Debug || d.cfg.LogLevel == "debug",
		NFd:            countFDs(),
		NGoroutines:    runtime.NumGoroutine(),
		SystemTime:     time.Now().Format(time.RFC3339Nano),
		LoggingDriver:  d.cfg.LogDriver,
		CgroupDriver:   "cgroupfs",
		CgroupVersion:  h.cg.version,

		KernelVersion:      h.kernel,
		OperatingSystem:    h.osName,
		OSVersion:          h.osVersion,
		OSType:             "linux",
		Architecture:       h.arch,
		IndexServerAddress: "https://index.docker.io/v1/",
		RegistryConfig: &registry.ServiceConfig{
			InsecureRegistryCIDRs: insecureCIDRs(d.cfg.InsecureRegistries),
			IndexConfigs:          map[string]*registry.IndexInfo{},
			Mirrors:               nonNil(d.cfg.RegistryMirrors),
		},
		NCPU:           runtime.NumCPU(),
		MemTotal:       h.memTotal,
		DockerRootDir:  d.cfg.DataRoot,
		HTTPProxy:      proxyEnv("HTTP_PROXY"),
		HTTPSProxy:     proxyEnv("HTTPS_PROXY"),
		NoProxy:        proxyEnv("NO_PROXY"),
		Name:           name,
		Labels:         []string{},
		ServerVersion:  version.Version,
		Runtimes:       map[string]system.RuntimeWithStatus{},
		DefaultRuntime: d.cfg.DefaultRuntime,
		Swarm:          swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},

		LiveRestoreEnabled:  d.cfg.LiveRestore,
		SecurityOptions:     h.securityOptions,
		DefaultAddressPools: d.cfg.DefaultAddressPools,
		CDISpecDirs:         []string{},
		Warnings:            []string{},
	}
	d.networkInfo(info)
	for name, rt := range d.runtimes {
		info.Runtimes[name] = system.RuntimeWithStatus{Runtime: rt}
	}
	info.InitBinary, info.InitCommit = d.initInfo(ctx)
	for _, idx := range []string{"docker.io"} {
		info.RegistryConfig.IndexConfigs[idx] = &registry.IndexInfo{Name: idx, Mirrors: nonNil(d.cfg.RegistryMirrors), Secure: true, Official: true}
	}
	if w := d.missingRuntime(); w != "" {
		info.Warnings = append(info.Warnings, w)
	}
	if !h.cg.swap && h.cg.memory {
		info.Warnings = append(info.Warnings, "WARNING: No swap limit support")
	}
	for _, c := range d.containers.List() {
		info.Containers++
		switch {
		case c.State.Paused:
			info.ContainersPaused++
		case c.State.Running:
			info.ContainersRunning++
		default:
			info.ContainersStopped++
		}
	}
	if imgs, err := d.images.List(ctx); err == nil {
		info.Images = len(imgs)
	}
	return info, nil
}

// SystemVersion implements the system router's Backend; the router adds
// the API version fields.
func (d *Daemon) SystemVersion(ctx context.Context) (*system.VersionResponse, error) {
	h := probeHost(d.cfg.DataRoot)
	commit, built := buildVCS()
	return &system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "berth"},
		Version:       version.Version,
		Os:            "linux",
		Arch:          runtime.GOARCH,
		GitCommit:     commit,
		GoVersion:     runtime.Version(),
		KernelVersion: h.kernel,
		BuildTime:     built,
		Components: []system.ComponentVersion{{
			Name:    "Engine",
			Version: version.Version,
			Details: map[string]string{
				"GitCommit":     commit,
				"GoVersion":     runtime.Version(),
				"Os":            "linux",
				"Arch":          runtime.GOARCH,
				"KernelVersion": h.kernel,
				"BuildTime":     built,
				"Experimental":  "false",
			},
		}},
	}, nil
}

// buildVCS returns the commit and commit time that the go command stamped
// into the binary, empty when it was built outside a checkout.
func buildVCS() (commit, at string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
			if len(commit) > 7 {
				commit = commit[:7]
			}
		case "vcs.time":
			at = s.Value
		}
	}
	return commit, at
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

func proxyEnv(k string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return os.Getenv(strings.ToLower(k))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// insecureCIDRs returns the CIDRs among the insecure registries, after the
// loopback ranges that are always insecure.
func insecureCIDRs(regs []string) []netip.Prefix {
	out := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, r := range regs {
		if p, err := netip.ParsePrefix(r); err == nil {
			out = append(out, p)
		}
	}
	return out
}

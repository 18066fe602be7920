package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type infoOptions struct {
	format string
}

// clientInfo is the ClientInfo of `info --format`.
type clientInfo struct {
	Debug    bool
	Version  string
	Context  string
	Plugins  []struct{}
	Warnings []string
}

// infoView is what `info --format` templates see: the daemon's fields at
// the top level, as in docker.
type infoView struct {
	*system.Info
	ClientInfo   *clientInfo `json:",omitempty"`
	ClientErrors []string    `json:",omitempty"`
	ServerErrors []string    `json:",omitempty"`
}

// NewInfoCommand returns `berth info` (and `berth system info`).
func NewInfoCommand(cli *command.Cli) *cobra.Command {
	var opts infoOptions
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInfo(cmd.Context(), cli, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

func runInfo(ctx context.Context, cli *command.Cli, opts infoOptions) error {
	view := infoView{ClientInfo: &clientInfo{
		Debug:   cli.Options.Debug,
		Version: command.ClientVersion(),
		Context: "default",
		Plugins: []struct{}{},
	}}
	var serr error
	api, err := cli.Client()
	if err == nil {
		var res client.SystemInfoResult
		res, serr = api.Info(ctx, client.InfoOptions{})
		if serr == nil {
			view.Info = &res.Info
		}
	} else {
		serr = err
	}
	if serr != nil {
		view.ServerErrors = []string{serr.Error()}
	}
	if opts.format != "" {
		if view.Info == nil {
			view.Info = &system.Info{}
		}
		if err := formatter.Execute(cli.Out(), opts.format, view); err != nil {
			return err
		}
		return serr
	}
	writeClientInfo(cli.Out(), view.ClientInfo)
	fmt.Fprintln(cli.Out())
	fmt.Fprintln(cli.Out(), "Server:")
	if view.Info == nil {
		fmt.Fprintf(cli.Out(), "ERROR: %v\n", serr)
		return errors.New("errors pretty printing info")
	}
	writeServerInfo(cli.Out(), view.Info)
	for _, w := range view.Info.Warnings {
		fmt.Fprintln(cli.Err(), w)
	}
	return nil
}

func writeClientInfo(out io.Writer, c *clientInfo) {
	fmt.Fprintln(out, "Client:")
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, " Version:\t%s\n", c.Version)
	fmt.Fprintf(tw, " Context:\t%s\n", c.Context)
	fmt.Fprintf(tw, " Debug Mode:\t%t\n", c.Debug)
	tw.Flush()
}

// writeServerInfo prints docker's layout, leaving out what the daemon did
// not report (berth has no swarm, containerd or plugins).
func writeServerInfo(out io.Writer, info *system.Info) {
	p := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	opt := func(label, value string) {
		if value != "" {
			p(" %s: %s", label, value)
		}
	}
	p(" Containers: %d", info.Containers)
	p("  Running: %d", info.ContainersRunning)
	p("  Paused: %d", info.ContainersPaused)
	p("  Stopped: %d", info.ContainersStopped)
	p(" Images: %d", info.Images)
	opt("Server Version", info.ServerVersion)
	opt("Storage Driver", info.Driver)
	for _, kv := range info.DriverStatus {
		p("  %s: %s", kv[0], kv[1])
	}
	opt("Logging Driver", info.LoggingDriver)
	opt("Cgroup Driver", info.CgroupDriver)
	opt("Cgroup Version", info.CgroupVersion)
	pl := info.Plugins
	if len(pl.Volume)+len(pl.Network)+len(pl.Authorization)+len(pl.Log) > 0 {
		p(" Plugins:")
		for _, l := range []struct {
			name  string
			items []string
		}{{"Volume", pl.Volume}, {"Network", pl.Network}, {"Authorization", pl.Authorization}, {"Log", pl.Log}} {
			if len(l.items) > 0 {
				p("  %s: %s", l.name, strings.Join(l.items, " "))
			}
		}
	}
	if len(info.CDISpecDirs) > 0 {
		p(" CDI spec directories:")
		for _, d := range info.CDISpecDirs {
			p("  %s", d)
		}
	}
	opt("Swarm", string(info.Swarm.LocalNodeState))
	if len(info.Runtimes) > 0 {
		names := make([]string, 0, len(info.Runtimes))
		for n := range info.Runtimes {
			names = append(names, n)
		}
		sort.Strings(names)
		p(" Runtimes: %s", strings.Join(names, " "))
	}
	opt("Default Runtime", info.DefaultRuntime)
	opt("Init Binary", info.InitBinary)
	opt("containerd version", info.ContainerdCommit.ID)
	opt("runc version", info.RuncCommit.ID)
	opt("init version", info.InitCommit.ID)
	if len(info.SecurityOptions) > 0 {
		p(" Security Options:")
		for _, o := range info.SecurityOptions {
			writeSecurityOption(out, o)
		}
	}
	opt("Kernel Version", info.KernelVersion)
	opt("Operating System", info.OperatingSystem)
	opt("OSType", info.OSType)
	opt("Architecture", info.Architecture)
	p(" CPUs: %d", info.NCPU)
	p(" Total Memory: %s", units.BytesSize(float64(info.MemTotal)))
	opt("Name", info.Name)
	opt("ID", info.ID)
	opt("Docker Root Dir", info.DockerRootDir)
	p(" Debug Mode: %t", info.Debug)
	if info.Debug {
		p("  File Descriptors: %d", info.NFd)
		p("  Goroutines: %d", info.NGoroutines)
		p("  System Time: %s", info.SystemTime)
		p("  EventsListeners: %d", info.NEventsListener)
	}
	opt("HTTP Proxy", info.HTTPProxy)
	opt("HTTPS Proxy", info.HTTPSProxy)
	opt("No Proxy", info.NoProxy)
	opt("Username", info.IndexServerAddress)
	if len(info.Labels) > 0 {
		p(" Labels:")
		for _, l := range info.Labels {
			p("  %s", l)
		}
	}
	p(" Experimental: %t", info.ExperimentalBuild)
	if rc := info.RegistryConfig; rc != nil {
		var insecure []string
		for _, c := range rc.InsecureRegistryCIDRs {
			insecure = append(insecure, c.String())
		}
		for name, idx := range rc.IndexConfigs {
			if idx != nil && !idx.Secure {
				insecure = append(insecure, name)
			}
		}
		if len(insecure) > 0 {
			sort.Strings(insecure)
			p(" Insecure Registries:")
			for _, r := range insecure {
				p("  %s", r)
			}
		}
		if len(rc.Mirrors) > 0 {
			p(" Registry Mirrors:")
			for _, m := range rc.Mirrors {
				p("  %s", m)
			}
		}
	}
	p(" Live Restore Enabled: %t", info.LiveRestoreEnabled)
	fmt.Fprintln(out)
}

// writeSecurityOption prints "name=seccomp,profile=builtin" as docker
// does: the name, then each other key in title case on its own line.
func writeSecurityOption(out io.Writer, opt string) {
	for _, kv := range strings.Split(opt, ",") {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			fmt.Fprintf(out, "  %s\n", kv)
		case k == "name":
			fmt.Fprintf(out, "  %s\n", v)
		default:
			fmt.Fprintf(out, "   %s: %s\n", strings.ToUpper(k[:1])+k[1:], v)
		}
	}
}

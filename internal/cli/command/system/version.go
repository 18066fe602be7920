package system

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type versionOptions struct {
	format string
}

// clientVersion is the Client half of `version --format`, with docker's
// field names.
type clientVersion struct {
	Platform          *system.PlatformInfo `json:",omitempty"`
	Version           string
	APIVersion        string `json:"ApiVersion"`
	DefaultAPIVersion string `json:"DefaultAPIVersion,omitempty"`
	GitCommit         string `json:"GitCommit,omitempty"`
	GoVersion         string `json:"GoVersion,omitempty"`
	Os                string
	Arch              string
	BuildTime         string `json:"BuildTime,omitempty"`
	Context           string
}

// versionInfo is what `version --format` templates see.
type versionInfo struct {
	Client clientVersion
	Server *system.VersionResponse
}

// ServerOK reports whether the daemon answered.
func (v versionInfo) ServerOK() bool { return v.Server != nil }

// NewVersionCommand returns `berth version`.
func NewVersionCommand(cli *command.Cli) *cobra.Command {
	var opts versionOptions
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the berth version information",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(cmd.Context(), cli, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

func runVersion(ctx context.Context, cli *command.Cli, opts versionOptions) error {
	v := versionInfo{Client: newClientVersion()}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	sv, serr := api.ServerVersion(ctx, client.ServerVersionOptions{})
	// After the first request the client holds the negotiated version.
	v.Client.APIVersion = api.ClientVersion()
	if serr == nil {
		v.Server = serverVersion(sv)
	}
	if opts.format == "" {
		writeVersion(cli.Out(), v)
	} else if err := formatter.Execute(cli.Out(), opts.format, v); err != nil {
		return err
	}
	return serr
}

func newClientVersion() clientVersion {
	c := clientVersion{
		Version:           command.ClientVersion(),
		APIVersion:        client.MaxAPIVersion,
		DefaultAPIVersion: client.MaxAPIVersion,
		GoVersion:         runtime.Version(),
		Os:                runtime.GOOS,
		Arch:              runtime.GOARCH,
		Context:           "default",
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				c.GitCommit = s.Value[:min(7, len(s.Value))]
			case "vcs.time":
				c.BuildTime = ansiTime(s.Value)
			}
		}
	}
	return c
}

// serverVersion rebuilds the wire struct the daemon sent (the client keeps
// only part of it), with build times in docker's human form.
func serverVersion(r client.ServerVersionResult) *system.VersionResponse {
	v := &system.VersionResponse{
		Platform:      system.PlatformInfo{Name: r.Platform.Name},
		Version:       r.Version,
		APIVersion:    r.APIVersion,
		MinAPIVersion: r.MinAPIVersion,
		Os:            r.Os,
		Arch:          r.Arch,
		Experimental:  r.Experimental, //nolint:staticcheck // docker still reports it
	}
	for _, c := range r.Components {
		details := make(map[string]string, len(c.Details))
		for k, val := range c.Details {
			if k == "BuildTime" {
				val = ansiTime(val)
			}
			details[k] = val
		}
		if c.Name == "Engine" {
			v.GitCommit, v.GoVersion = details["GitCommit"], details["GoVersion"]
			v.KernelVersion, v.BuildTime = details["KernelVersion"], c.Details["BuildTime"]
		}
		v.Components = append(v.Components, system.ComponentVersion{Name: c.Name, Version: c.Version, Details: details})
	}
	return v
}

// ansiTime turns an RFC 3339 time into the form docker prints; anything
// else is left as it is.
func ansiTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Format(time.ANSIC)
}

func writeVersion(out io.Writer, v versionInfo) {
	tw := tabwriter.NewWriter(out, 20, 1, 1, ' ', 0)
	c := v.Client
	fmt.Fprintln(tw, "Client:")
	fmt.Fprintf(tw, " Version:\t%s\n", c.Version)
	api := c.APIVersion
	if c.APIVersion != c.DefaultAPIVersion {
		api += " (downgraded from " + c.DefaultAPIVersion + ")"
	}
	fmt.Fprintf(tw, " API version:\t%s\n", api)
	fmt.Fprintf(tw, " Go version:\t%s\n", c.GoVersion)
	if c.GitCommit != "" {
		fmt.Fprintf(tw, " Git commit:\t%s\n", c.GitCommit)
	}
	if c.BuildTime != "" {
		fmt.Fprintf(tw, " Built:\t%s\n", c.BuildTime)
	}
	fmt.Fprintf(tw, " OS/Arch:\t%s/%s\n", c.Os, c.Arch)
	fmt.Fprintf(tw, " Context:\t%s\n", c.Context)
	if s := v.Server; s != nil {
		fmt.Fprintln(tw)
		if s.Platform.Name != "" {
			fmt.Fprintf(tw, "Server: %s\n", s.Platform.Name)
		} else {
			fmt.Fprintln(tw, "Server:")
		}
		for _, comp := range s.Components {
			fmt.Fprintf(tw, " %s:\n", comp.Name)
			d := comp.Details
			if comp.Name == "Engine" {
				fmt.Fprintf(tw, "  Version:\t%s\n", comp.Version)
				fmt.Fprintf(tw, "  API version:\t%s (minimum version %s)\n", d["ApiVersion"], d["MinAPIVersion"])
				fmt.Fprintf(tw, "  Go version:\t%s\n", d["GoVersion"])
				fmt.Fprintf(tw, "  Git commit:\t%s\n", d["GitCommit"])
				fmt.Fprintf(tw, "  Built:\t%s\n", d["BuildTime"])
				fmt.Fprintf(tw, "  OS/Arch:\t%s/%s\n", d["Os"], d["Arch"])
				fmt.Fprintf(tw, "  Experimental:\t%s\n", d["Experimental"])
				continue
			}
			fmt.Fprintf(tw, "  Version:\t%s\n", comp.Version)
			keys := make([]string, 0, len(d))
			for k := range d {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(tw, "  %s:\t%s\n", k, d[k])
			}
		}
	}
	tw.Flush()
}

package command

import (
	"context"
	"io"
	"os"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// APIClient is the part of the Engine API client the commands use; tests
// substitute a fake with func fields.
type APIClient interface {
	Ping(ctx context.Context, opts client.PingOptions) (client.PingResult, error)
	ServerVersion(ctx context.Context, opts client.ServerVersionOptions) (client.ServerVersionResult, error)
	Info(ctx context.Context, opts client.InfoOptions) (client.SystemInfoResult, error)
	ContainerList(ctx context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error)
	ImageList(ctx context.Context, opts client.ImageListOptions) (client.ImageListResult, error)
	ContainerCreate(ctx context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, opts client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerAttach(ctx context.Context, id string, opts client.ContainerAttachOptions) (client.ContainerAttachResult, error)
	ContainerWait(ctx context.Context, id string, opts client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerStop(ctx context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerKill(ctx context.Context, id string, opts client.ContainerKillOptions) (client.ContainerKillResult, error)
	ContainerRestart(ctx context.Context, id string, opts client.ContainerRestartOptions) (client.ContainerRestartResult, error)
	ContainerRemove(ctx context.Context, id string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerLogs(ctx context.Context, id string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ContainerInspect(ctx context.Context, id string, opts client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerTop(ctx context.Context, id string, opts client.ContainerTopOptions) (client.ContainerTopResult, error)
	ContainerRename(ctx context.Context, id string, opts client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	ContainerPrune(ctx context.Context, opts client.ContainerPruneOptions) (client.ContainerPruneResult, error)
	ContainerStats(ctx context.Context, id string, opts client.ContainerStatsOptions) (client.ContainerStatsResult, error)
	ContainerResize(ctx context.Context, id string, opts client.ContainerResizeOptions) (client.ContainerResizeResult, error)
	ContainerPause(ctx context.Context, id string, opts client.ContainerPauseOptions) (client.ContainerPauseResult, error)
	ContainerUnpause(ctx context.Context, id string, opts client.ContainerUnpauseOptions) (client.ContainerUnpauseResult, error)
	ContainerUpdate(ctx context.Context, id string, opts client.ContainerUpdateOptions) (client.ContainerUpdateResult, error)
	ExecCreate(ctx context.Context, id string, opts client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecStart(ctx context.Context, execID string, opts client.ExecStartOptions) (client.ExecStartResult, error)
	ExecAttach(ctx context.Context, execID string, opts client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, opts client.ExecInspectOptions) (client.ExecInspectResult, error)
	ExecResize(ctx context.Context, execID string, opts client.ExecResizeOptions) (client.ExecResizeResult, error)
	ImageImport(ctx context.Context, src client.ImageImportSource, ref string, opts client.ImageImportOptions) (client.ImageImportResult, error)
	ImageInspect(ctx context.Context, id string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageRemove(ctx context.Context, id string, opts client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	ImageTag(ctx context.Context, opts client.ImageTagOptions) (client.ImageTagResult, error)
	ImageHistory(ctx context.Context, id string, opts ...client.ImageHistoryOption) (client.ImageHistoryResult, error)
	ImagePrune(ctx context.Context, opts client.ImagePruneOptions) (client.ImagePruneResult, error)
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error)
	ContainerCommit(ctx context.Context, id string, opts client.ContainerCommitOptions) (client.ContainerCommitResult, error)
	ContainerDiff(ctx context.Context, id string, opts client.ContainerDiffOptions) (client.ContainerDiffResult, error)
	ContainerExport(ctx context.Context, id string, opts client.ContainerExportOptions) (client.ContainerExportResult, error)
	Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult
	NetworkCreate(ctx context.Context, name string, opts client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	NetworkList(ctx context.Context, opts client.NetworkListOptions) (client.NetworkListResult, error)
	NetworkInspect(ctx context.Context, id string, opts client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	NetworkRemove(ctx context.Context, id string, opts client.NetworkRemoveOptions) (client.NetworkRemoveResult, error)
	NetworkPrune(ctx context.Context, opts client.NetworkPruneOptions) (client.NetworkPruneResult, error)
	NetworkConnect(ctx context.Context, id string, opts client.NetworkConnectOptions) (client.NetworkConnectResult, error)
	NetworkDisconnect(ctx context.Context, id string, opts client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error)
	DiskUsage(ctx context.Context, opts client.DiskUsageOptions) (client.DiskUsageResult, error)
	VolumeCreate(ctx context.Context, opts client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	VolumeList(ctx context.Context, opts client.VolumeListOptions) (client.VolumeListResult, error)
	VolumeInspect(ctx context.Context, name string, opts client.VolumeInspectOptions) (client.VolumeInspectResult, error)
	VolumeRemove(ctx context.Context, name string, opts client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)
	VolumePrune(ctx context.Context, opts client.VolumePruneOptions) (client.VolumePruneResult, error)
	ClientVersion() string
	Close() error
}

// Options are the global flags.
type Options struct {
	Hosts     []string
	Context   string
	Debug     bool
	LogLevel  string
	ConfigDir string
	TLS       bool
	TLSVerify bool
	TLSCACert string
	TLSCert   string
	TLSKey    string
}

// Cli is what a command is given: output streams, the global options and
// the API client, connected on first use.
type Cli struct {
	out, err io.Writer
	// In is the standard input (import -); nil means os.Stdin.
	In      io.Reader
	Options Options
	// Getenv reads the environment (os.Getenv outside tests).
	Getenv func(string) string
	// Clock is the time ages ("2 hours ago") are measured from; nil means
	// time.Now.
	Clock func() time.Time
	// NewClient connects to the daemon at host; nil means the real client.
	NewClient func(host string) (APIClient, error)

	once   sync.Once
	client APIClient
	host   string
	cerr   error
}

// NewCli returns a Cli writing to out and errOut.
func NewCli(out, errOut io.Writer, getenv func(string) string) *Cli {
	return &Cli{out: out, err: errOut, Getenv: getenv}
}

// Out is where command output goes.
func (c *Cli) Out() io.Writer { return c.out }

// Stdin is the standard input.
func (c *Cli) Stdin() io.Reader {
	if c.In != nil {
		return c.In
	}
	return os.Stdin
}

// Err is where warnings and errors go.
func (c *Cli) Err() io.Writer { return c.err }

// Host is the daemon address the client uses (after Client was called).
func (c *Cli) Host() string {
	if c.host == "" {
		h, err := ResolveHost(c.Options.Hosts, c.Getenv)
		if err == nil {
			return h
		}
	}
	return c.host
}

// Client returns the API client, creating it on first use. The version is
// negotiated with the server on the first request, unless BERTH_API_VERSION
// or DOCKER_API_VERSION pins it.
func (c *Cli) Client() (APIClient, error) {
	c.once.Do(func() {
		c.host, c.cerr = ResolveHost(c.Options.Hosts, c.Getenv)
		if c.cerr != nil {
			return
		}
		newClient := c.NewClient
		if newClient == nil {
			newClient = c.realClient
		}
		c.client, c.cerr = newClient(c.host)
	})
	return c.client, c.cerr
}

func (c *Cli) realClient(host string) (APIClient, error) {
	opts := []client.Opt{client.WithHost(host), client.WithUserAgent("Berth-Client/" + ClientVersion())}
	for _, env := range []string{"BERTH_API_VERSION", "DOCKER_API_VERSION"} {
		if v := c.Getenv(env); v != "" {
			opts = append(opts, client.WithAPIVersion(v))
			break
		}
	}
	return client.New(opts...)
}

// Now is the current time as the commands see it.
func (c *Cli) Now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// Close releases the client's connections.
func (c *Cli) Close() error {
	if c.client != nil {
		return c.client.Close()
	}
	return nil
}

package container

import (
	"context"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type logsOptions struct {
	follow     bool
	since      string
	until      string
	timestamps bool
	details    bool
	tail       string
}

// NewLogsCommand returns `berth container logs` (also `berth logs`).
func NewLogsCommand(cli *command.Cli) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd.Context(), cli, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.follow, "follow", "f", false, "Follow log output")
	f.StringVar(&opts.since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.StringVar(&opts.until, "until", "", `Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.BoolVarP(&opts.timestamps, "timestamps", "t", false, "Show timestamps")
	f.BoolVar(&opts.details, "details", false, "Show extra details provided to logs")
	f.StringVarP(&opts.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	return cmd
}

func runLogs(ctx context.Context, cli *command.Cli, opts logsOptions, id string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	insp, err := api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	rc, err := api.ContainerLogs(ctx, id, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true,
		Since: opts.since, Until: opts.until, Timestamps: opts.timestamps,
		Follow: opts.follow, Tail: opts.tail, Details: opts.details,
	})
	if err != nil {
		return err
	}
	defer rc.Close()
	if insp.Container.Config != nil && insp.Container.Config.Tty {
		_, err = io.Copy(cli.Out(), rc)
	} else {
		_, err = stdcopy.StdCopy(cli.Out(), cli.Err(), rc)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

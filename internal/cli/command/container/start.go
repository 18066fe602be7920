package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type startOptions struct {
	attach      bool
	interactive bool
	detachKeys  string
}

// NewStartCommand returns `berth container start` (also `berth start`).
func NewStartCommand(cli *command.Cli) *cobra.Command {
	var opts startOptions
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStart(cmd.Context(), cli, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	f.BoolVarP(&opts.interactive, "interactive", "i", false, "Attach container's STDIN")
	f.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func runStart(ctx context.Context, cli *command.Cli, opts startOptions, args []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	if opts.attach || opts.interactive {
		if len(args) > 1 {
			return errors.New("you cannot start and attach multiple containers at once")
		}
		return startAttached(ctx, cli, api, opts, args[0])
	}
	var msgs, failed []string
	for _, id := range args {
		if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			if client.IsErrConnectionFailed(err) {
				return err
			}
			msgs = append(msgs, err.Error())
			failed = append(failed, id)
			continue
		}
		fmt.Fprintln(cli.Out(), id)
	}
	if len(failed) > 0 {
		msgs = append(msgs, "Error: failed to start containers: "+strings.Join(failed, ", "))
		return command.StatusError{Status: strings.Join(msgs, "\n"), StatusCode: 1}
	}
	return nil
}

// startAttached is start -a / -i: the container's own TTY and stdin
// settings decide how the streams are joined, as for attach.
func startAttached(ctx context.Context, cli *command.Cli, api command.APIClient, opts startOptions, ref string) error {
	insp, err := api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	c := insp.Container
	if c.ID == "" {
		c.ID = ref
	}
	tty, openStdin, autoRemove := false, false, false
	if c.Config != nil {
		tty, openStdin = c.Config.Tty, c.Config.OpenStdin
	}
	if c.HostConfig != nil {
		autoRemove = c.HostConfig.AutoRemove
	}
	stdin := opts.interactive && openStdin
	if err := checkTTY(cli, stdin, tty); err != nil {
		return err
	}
	status, err := runForeground(ctx, cli, api, foreground{
		id: c.ID, tty: tty, stdin: stdin, stdout: true, stderr: true,
		detachKeys: opts.detachKeys, sigProxy: true, autoRemove: autoRemove,
	})
	var sf startFailed
	var af attachFailed
	switch {
	case errors.Is(err, errDetached):
		return nil
	case errors.As(err, &sf):
		return sf.err
	case errors.As(err, &af):
		return af.err
	case err != nil:
		return err
	}
	if status != 0 {
		return command.StatusError{StatusCode: status}
	}
	return nil
}

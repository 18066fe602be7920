package container

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type startOptions struct {
	attach      bool
	interactive bool
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
	f.BoolVarP(&opts.interactive, "interactive", "i", false, "Attach container's STDIN (not supported yet)")
	return cmd
}

func runStart(ctx context.Context, cli *command.Cli, opts startOptions, args []string) error {
	if opts.interactive {
		return fmt.Errorf("berth does not support attaching stdin yet")
	}
	if opts.attach {
		if len(args) > 1 {
			return fmt.Errorf("you cannot start and attach multiple containers at once")
		}
		api, err := cli.Client()
		if err != nil {
			return err
		}
		status, err := startAttached(ctx, cli, api, args[0], container.WaitConditionNextExit)
		if err != nil {
			var se command.StatusError
			if errorsAs(err, &se) && se.Cause != nil {
				return se.Cause
			}
			return err
		}
		if status != 0 {
			return command.StatusError{StatusCode: status}
		}
		return nil
	}
	api, err := cli.Client()
	if err != nil {
		return err
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

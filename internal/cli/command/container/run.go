package container

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type runOptions struct {
	createOptions
	detach bool
}

// NewRunCommand returns `berth container run` (also `berth run`).
func NewRunCommand(cli *command.Cli) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), cli, cmd, &opts, args)
		},
	}
	f := cmd.Flags()
	addCreateFlags(f, &opts.createOptions)
	f.BoolVarP(&opts.detach, "detach", "d", false, "Run container in background and print container ID")
	return cmd
}

func runRun(ctx context.Context, cli *command.Cli, cmd *cobra.Command, opts *runOptions, args []string) error {
	id, err := createContainer(ctx, cli, cmd, &opts.createOptions, args)
	if err != nil {
		return withHelp(err, "run")
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	if opts.detach {
		if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return startError(err)
		}
		fmt.Fprintln(cli.Out(), id)
		return nil
	}
	cond := container.WaitConditionNextExit
	if opts.rm {
		cond = container.WaitConditionRemoved
	}
	status, err := startAttached(ctx, cli, api, id, cond)
	if err != nil {
		if opts.rm {
			// A container that never ran is not removed by the daemon.
			_, _ = api.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
		}
		return err
	}
	if status != 0 {
		return command.StatusError{StatusCode: status}
	}
	return nil
}

// startAttached attaches to id's output, starts it and waits for its exit
// under cond, copying the output until the stream ends; it returns the
// container's exit status.
func startAttached(ctx context.Context, cli *command.Cli, api command.APIClient, id string, cond container.WaitCondition) (int, error) {
	att, err := api.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return 0, withHelp(err, "run")
	}
	defer att.Close()
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	wait := api.ContainerWait(waitCtx, id, client.ContainerWaitOptions{Condition: cond})

	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(cli.Out(), cli.Err(), att.Reader)
		copied <- err
	}()
	if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		att.Close()
		<-copied
		return 0, startError(err)
	}
	var status int
	select {
	case r := <-wait.Result:
		if r.Error != nil && r.Error.Message != "" {
			return 125, command.StatusError{Status: r.Error.Message, StatusCode: 125}
		}
		status = int(r.StatusCode)
	case err := <-wait.Error:
		att.Close()
		<-copied
		return 0, command.StatusError{Status: fmt.Sprintf("Error waiting for container: %v", err), StatusCode: 125}
	case <-ctx.Done():
		att.Close()
		<-copied
		return 0, ctx.Err()
	}
	// The daemon ends the attach stream once the output is delivered.
	select {
	case <-copied:
	case <-ctx.Done():
	}
	return status, nil
}

// startError maps a failed start to docker's exit codes: 127 when the
// command is not found, 126 when it cannot be invoked, else 125.
func startError(err error) error {
	msg := err.Error()
	code := 125
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") || strings.Contains(msg, "system error: exec"):
		code = 127
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "exec format error"):
		code = 126
	}
	se := withHelp(err, "run").(command.StatusError)
	se.StatusCode = code
	return se
}

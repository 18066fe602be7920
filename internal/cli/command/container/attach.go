package container

import (
	"context"
	"errors"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type attachOptions struct {
	noStdin    bool
	sigProxy   bool
	detachKeys string
}

// NewAttachCommand returns `berth container attach` (also `berth attach`).
func NewAttachCommand(cli *command.Cli) *cobra.Command {
	var opts attachOptions
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAttach(cmd.Context(), cli, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&opts.sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	f.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func runAttach(ctx context.Context, cli *command.Cli, opts attachOptions, ref string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	c, err := attachableContainer(ctx, api, ref)
	if err != nil {
		return err
	}
	tty, openStdin := false, false
	if c.Config != nil {
		tty, openStdin = c.Config.Tty, c.Config.OpenStdin
	}
	if err := checkTTY(cli, !opts.noStdin, tty); err != nil {
		return err
	}
	stdin := !opts.noStdin && openStdin

	// The wait outlives a cancelled attach: its answer is the exit status.
	waitCtx, cancelWait := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWait()
	wait := api.ContainerWait(waitCtx, ref, client.ContainerWaitOptions{})

	if opts.sigProxy && !tty {
		stop := forwardSignals(waitCtx, cli, api, ref, cancelWait)
		defer stop()
	}
	att, err := api.ContainerAttach(ctx, ref, client.ContainerAttachOptions{
		Stream: true, Stdin: stdin, Stdout: true, Stderr: true, DetachKeys: opts.detachKeys,
	})
	if err != nil {
		return err
	}
	defer att.Close()
	// It may have stopped between the check and the attach; the stream of
	// a stopped container would never end.
	if _, err := attachableContainer(ctx, api, ref); err != nil {
		return err
	}
	if tty && outIsTerminal(cli) {
		monitorTTYSize(waitCtx, cli, func(ctx context.Context, h, w uint) error {
			_, err := api.ContainerResize(ctx, ref, client.ContainerResizeOptions{Height: h, Width: w})
			return err
		})
	}
	sess := newIOSession(cli, stdin, tty, opts.detachKeys)
	if err := sess.stream(ctx, att.HijackedResponse); err != nil && !errors.Is(err, context.Canceled) {
		// Detaching is reported as docker does: "read escape sequence",
		// exit status 1.
		return err
	}
	select {
	case r := <-wait.Result:
		if r.Error != nil && r.Error.Message != "" {
			return errors.New(r.Error.Message)
		}
		if r.StatusCode != 0 {
			return command.StatusError{StatusCode: int(r.StatusCode)}
		}
		return nil
	case err := <-wait.Error:
		return err
	case <-waitCtx.Done():
		return waitCtx.Err()
	}
}

// attachableContainer inspects ref and refuses, with docker's messages, a
// container that is not running.
func attachableContainer(ctx context.Context, api command.APIClient, ref string) (container.InspectResponse, error) {
	insp, err := api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return container.InspectResponse{}, err
	}
	st := insp.Container.State
	switch {
	case st == nil || !st.Running:
		return insp.Container, errors.New("You cannot attach to a stopped container, start it first")
	case st.Paused:
		return insp.Container, errors.New("You cannot attach to a paused container, unpause it first")
	case st.Restarting:
		return insp.Container, errors.New("You cannot attach to a restarting container, wait until it is running")
	}
	return insp.Container, nil
}

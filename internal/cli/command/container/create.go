package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/command/image"
)

// NewCreateCommand returns `berth container create` (also `berth create`).
func NewCreateCommand(cli *command.Cli) *cobra.Command {
	var opts createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCreate(cmd.Context(), cli, cmd, &opts, args)
		},
	}
	addCreateFlags(cmd.Flags(), &opts)
	return cmd
}

func runCreate(ctx context.Context, cli *command.Cli, cmd *cobra.Command, opts *createOptions, args []string) error {
	cfg, hc, err := opts.parse(cmd.Flags(), args)
	if err != nil {
		return withHelp(err, "create")
	}
	id, err := createContainer(ctx, cli, opts, cfg, hc)
	if err != nil {
		return withHelp(err, "create")
	}
	fmt.Fprintln(cli.Out(), id)
	return nil
}

// createContainer sends the create request and prints its warnings.
func createContainer(ctx context.Context, cli *command.Cli, opts *createOptions, cfg *container.Config, hc *container.HostConfig) (string, error) {
	platform, err := parsePlatform(opts.platform)
	if err != nil {
		return "", err
	}
	api, err := cli.Client()
	if err != nil {
		return "", err
	}
	cid, err := newCIDFile(opts.cidFile)
	if err != nil {
		return "", err
	}
	res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, NetworkingConfig: opts.net.config, Name: opts.name, Platform: platform})
	if err != nil && cerrdefs.IsNotFound(err) && strings.Contains(err.Error(), "No such image") {
		// As docker run and create: pull the missing image, then again.
		if perr := image.PullMissing(ctx, cli, cfg.Image, opts.platform, cli.Err()); perr != nil {
			_ = cid.finish("")
			return "", perr
		}
		res, err = api.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, NetworkingConfig: opts.net.config, Name: opts.name, Platform: platform})
	}
	if err != nil {
		_ = cid.finish("")
		return "", err
	}
	if err := cid.finish(res.ID); err != nil {
		return "", err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(cli.Err(), "WARNING:", w)
	}
	return res.ID, nil
}

// withHelp is how docker reports a failed create or run: exit status 125,
// the error and where to find help.
func withHelp(err error, verb string) error {
	var fe flagError
	if errors.As(err, &fe) {
		return command.StatusError{
			Status:     fmt.Sprintf("%s\n\nUsage:  berth %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth %s --help' for more information", fe.msg, verb, verb),
			StatusCode: 125,
		}
	}
	if client.IsErrConnectionFailed(err) {
		return command.StatusError{Cause: err, StatusCode: 125}
	}
	return command.StatusError{
		Status:     fmt.Sprintf("berth: %v\n\nRun 'berth %s --help' for more information", err, verb),
		StatusCode: 125,
		Cause:      err,
	}
}

package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type stopOptions struct {
	signal  string
	timeout int
}

// NewStopCommand returns `berth container stop` (also `berth stop`).
func NewStopCommand(cli *command.Cli) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := client.ContainerStopOptions{Signal: opts.signal, Timeout: intPtr(cmd.Flags(), "timeout", opts.timeout)}
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api command.APIClient, id string) error {
				_, err := api.ContainerStop(ctx, id, o)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&opts.timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&opts.timeout, "time", 0, "Seconds to wait before killing the container (deprecated: use --timeout)")
	_ = f.MarkHidden("time")
	return cmd
}

// NewRestartCommand returns `berth container restart` (also `berth restart`).
func NewRestartCommand(cli *command.Cli) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := client.ContainerRestartOptions{Signal: opts.signal, Timeout: intPtr(cmd.Flags(), "timeout", opts.timeout)}
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api command.APIClient, id string) error {
				_, err := api.ContainerRestart(ctx, id, o)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&opts.timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&opts.timeout, "time", 0, "Seconds to wait before killing the container (deprecated: use --timeout)")
	_ = f.MarkHidden("time")
	return cmd
}

// NewKillCommand returns `berth container kill` (also `berth kill`).
func NewKillCommand(cli *command.Cli) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api command.APIClient, id string) error {
				_, err := api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signal})
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

type rmOptions struct {
	force, volumes, link bool
}

// NewRmCommand returns `berth container rm` (also `berth rm`).
func NewRmCommand(cli *command.Cli) *cobra.Command {
	var opts rmOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more containers",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := client.ContainerRemoveOptions{Force: opts.force, RemoveVolumes: opts.volumes, RemoveLinks: opts.link}
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api command.APIClient, id string) error {
				_, err := api.ContainerRemove(ctx, id, o)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	f.BoolVarP(&opts.volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	f.BoolVarP(&opts.link, "link", "l", false, "Remove the specified link")
	return cmd
}

// NewRenameCommand returns `berth container rename` (also `berth rename`).
func NewRenameCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			_, err = api.ContainerRename(cmd.Context(), args[0], client.ContainerRenameOptions{NewName: args[1]})
			return err
		},
	}
}

// NewWaitCommand returns `berth container wait` (also `berth wait`).
func NewWaitCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			var errs []error
			for _, id := range args {
				w := api.ContainerWait(cmd.Context(), id, client.ContainerWaitOptions{})
				select {
				case r := <-w.Result:
					printf(cli, "%d\n", r.StatusCode)
				case err := <-w.Error:
					errs = append(errs, err)
				}
			}
			return joinErrors(args, errs)
		},
	}
}

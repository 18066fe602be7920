package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

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

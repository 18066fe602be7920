package container

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type commitOptions struct {
	author  string
	message string
	changes []string
	pause   bool
}

// NewCommitCommand returns `berth container commit` (also `berth commit`).
func NewCommitCommand(cli *command.Cli) *cobra.Command {
	var opts commitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := command.RequiresMinArgs(1)(cmd, args); err != nil {
				return err
			}
			return command.RequiresMaxArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			return runCommit(cmd.Context(), cli, opts, args[0], ref)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringVarP(&opts.message, "message", "m", "", "Commit message")
	f.StringArrayVarP(&opts.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	f.BoolVarP(&opts.pause, "pause", "p", true, "Pause container during commit")
	return cmd
}

func runCommit(ctx context.Context, cli *command.Cli, opts commitOptions, container, ref string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ContainerCommit(ctx, container, client.ContainerCommitOptions{
		Reference: ref, Comment: opts.message, Author: opts.author, Changes: opts.changes, NoPause: !opts.pause,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(cli.Out(), res.ID)
	return nil
}

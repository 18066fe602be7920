package image

import (
	"context"
	"fmt"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type pushOptions struct {
	quiet bool
	all   bool
}

// NewPushCommand returns `berth image push` (also `berth push`).
func NewPushCommand(cli *command.Cli) *cobra.Command {
	var opts pushOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd.Context(), cli, args[0], opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	f.BoolVarP(&opts.all, "all-tags", "a", false, "Push all tags of an image to the repository")
	return cmd
}

func runPush(ctx context.Context, cli *command.Cli, name string, opts pushOptions) error {
	named, api, auth, err := registryCall(cli, name, opts.all, opts.quiet)
	if err != nil {
		return err
	}
	rc, err := api.ImagePush(ctx, reference.FamiliarString(named), client.ImagePushOptions{All: opts.all, RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := displayStream(cli, rc, opts.quiet); err != nil {
		return err
	}
	if opts.quiet {
		fmt.Fprintln(cli.Out(), named.String())
	}
	return nil
}

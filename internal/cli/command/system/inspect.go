package system

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/command/container"
	"github.com/berth-engine/berth/internal/cli/command/image"
)

type inspectOptions struct {
	format string
	kind   string
	size   bool
}

// NewInspectCommand returns `berth inspect`: containers first, then images,
// unless --type chooses.
func NewInspectCommand(cli *command.Cli) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on Docker objects",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), cli, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.format, "format", "f", "", "Format output using a custom template")
	f.StringVar(&opts.kind, "type", "", "Only inspect objects of the given type")
	f.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes if the type is container")
	return cmd
}

func runInspect(ctx context.Context, cli *command.Cli, opts inspectOptions, args []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	getContainer := container.RawInspect(api, opts.size)
	getImage := image.RawInspect(api)
	var get command.RawGetter
	switch opts.kind {
	case "container":
		get = getContainer
	case "image":
		get = getImage
	case "":
		get = func(ctx context.Context, ref string) ([]byte, error) {
			raw, err := getContainer(ctx, ref)
			if err == nil || !isNotFound(err) {
				return raw, err
			}
			raw, err = getImage(ctx, ref)
			if err != nil && isNotFound(err) {
				return nil, fmt.Errorf("Error: No such object: %s", ref)
			}
			return raw, err
		}
	default:
		return command.StatusError{Status: fmt.Sprintf("%q is not a valid value for --type", opts.kind), StatusCode: 1}
	}
	return command.Inspect(ctx, cli.Out(), args, opts.format, get)
}

// isNotFound reports the daemon's 404 for a container or an image (the
// client marks it with containerd's errdefs, which the CLI does not import;
// the daemon's message is docker's).
func isNotFound(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "No such container") || strings.Contains(msg, "No such image")
}

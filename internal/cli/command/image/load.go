package image

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth-engine/berth/internal/cli/command"
)

type loadOptions struct {
	input string
	quiet bool
}

// NewLoadCommand returns `berth image load` (also `berth load`).
func NewLoadCommand(cli *command.Cli) *cobra.Command {
	var opts loadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLoad(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

func runLoad(ctx context.Context, cli *command.Cli, opts loadOptions) error {
	var in io.Reader = cli.Stdin()
	if opts.input != "" {
		f, err := os.Open(opts.input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	} else if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return errors.New("requested load from stdin, but stdin is empty")
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	rc, err := api.ImageLoad(ctx, in, client.ImageLoadWithQuiet(opts.quiet))
	if err != nil {
		return err
	}
	defer rc.Close()
	return printStream(cli.Out(), rc)
}

package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type importOptions struct {
	changes []string
	message string
}

// NewImportCommand returns `berth image import` (also `berth import`).
func NewImportCommand(cli *command.Cli) *cobra.Command {
	var opts importOptions
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			return runImport(cmd.Context(), cli, opts, args[0], ref)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	f.StringVarP(&opts.message, "message", "m", "", "Set commit message for imported image")
	return cmd
}

func runImport(ctx context.Context, cli *command.Cli, opts importOptions, source, ref string) error {
	src := client.ImageImportSource{SourceName: "-"}
	switch {
	case source == "-":
		src.Source = cli.Stdin()
	case strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://"):
		src.SourceName = source
	default:
		f, err := os.Open(source)
		if err != nil {
			return err
		}
		defer f.Close()
		src.Source = f
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	rc, err := api.ImageImport(ctx, src, ref, client.ImageImportOptions{Changes: opts.changes, Message: opts.message})
	if err != nil {
		return err
	}
	defer rc.Close()
	return printStream(cli.Out(), rc)
}

// streamMessage is one JSON message of a progress stream.
type streamMessage struct {
	Status      string `json:"status"`
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// printStream prints the statuses of a JSON progress stream, one a line,
// and its stream texts as they are,
// and returns its error message as an error.
func printStream(out io.Writer, r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m streamMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if m.Status != "" {
			fmt.Fprintln(out, m.Status)
		}
		if m.Stream != "" {
			fmt.Fprint(out, m.Stream)
		}
	}
}

// rangeArgs accepts between min and max positional arguments.
func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= max {
			return nil
		}
		return command.StatusError{
			Status: fmt.Sprintf("%s: '%s' requires at least %d and at most %d arguments\n\nUsage:  %s\n\nRun '%s --help' for more information",
				cmd.Root().Name(), cmd.CommandPath(), min, max, cmd.UseLine(), cmd.CommandPath()),
			StatusCode: 1,
		}
	}
}

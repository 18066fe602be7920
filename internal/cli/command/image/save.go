package image

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewSaveCommand returns `berth image save` (also `berth save`).
func NewSaveCommand(cli *command.Cli) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSave(cmd.Context(), cli, output, args)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

func runSave(ctx context.Context, cli *command.Cli, output string, images []string) error {
	if output == "" {
		if f, ok := cli.Out().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	rc, err := api.ImageSave(ctx, images)
	if err != nil {
		return err
	}
	defer rc.Close()
	if output == "" {
		_, err = io.Copy(cli.Out(), rc)
		return err
	}
	return command.WriteFile(output, rc)
}

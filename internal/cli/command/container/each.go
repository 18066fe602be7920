package container

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-engine/berth/internal/cli/command"
)

// forEach runs f for every argument, printing the argument when f
// succeeds (docker's stop, kill, rm, ... output) and collecting the errors,
// which end the command with status 1, one per line.
func forEach(ctx context.Context, cli *command.Cli, args []string, f func(ctx context.Context, api command.APIClient, arg string) error) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var errs []string
	for _, a := range args {
		if err := f(ctx, api, a); err != nil {
			if len(args) == 1 {
				return err
			}
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprintln(cli.Out(), a)
	}
	if len(errs) > 0 {
		return command.StatusError{Status: strings.Join(errs, "\n"), StatusCode: 1}
	}
	return nil
}

func intPtr(f interface{ Changed(string) bool }, name string, v int) *int {
	if !f.Changed(name) {
		return nil
	}
	return &v
}

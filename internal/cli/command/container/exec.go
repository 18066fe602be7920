package container

import (
	"context"
	"errors"
	"time"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type execOptions struct {
	detach      bool
	interactive bool
	tty         bool
	env         []string
	envFiles    []string
	user        string
	workdir     string
	privileged  bool
	detachKeys  string
}

// NewExecCommand returns `berth container exec` (also `berth exec`).
func NewExecCommand(cli *command.Cli) *cobra.Command {
	var opts execOptions
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  command.RequiresMinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), cli, opts, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&opts.detach, "detach", "d", false, "Detached mode: run command in the background")
	f.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	f.StringArrayVarP(&opts.env, "env", "e", nil, "Set environment variables")
	f.StringArrayVar(&opts.envFiles, "env-file", nil, "Read in a file of environment variables")
	f.BoolVarP(&opts.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVar(&opts.privileged, "privileged", false, "Give extended privileges to the command")
	f.BoolVarP(&opts.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.StringVarP(&opts.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	f.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory inside the container")
	return cmd
}

func runExec(ctx context.Context, cli *command.Cli, opts execOptions, ref string, argv []string) error {
	var env []string
	for _, path := range opts.envFiles {
		lines, err := readEnvFile(path)
		if err != nil {
			return err
		}
		env = append(env, lines...)
	}
	for _, e := range opts.env {
		env = append(env, expandEnv(e)...)
	}
	create := client.ExecCreateOptions{
		User:         opts.user,
		Privileged:   opts.privileged,
		TTY:          opts.tty,
		AttachStdin:  opts.interactive && !opts.detach,
		AttachStdout: !opts.detach,
		AttachStderr: !opts.detach,
		DetachKeys:   opts.detachKeys,
		Env:          env,
		WorkingDir:   opts.workdir,
		Cmd:          argv,
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	// Inspect first so that a missing container is reported as such, and
	// check the terminal before an exec is created that would be left
	// behind.
	if _, err := api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{}); err != nil {
		return err
	}
	if !opts.detach {
		if err := checkTTY(cli, create.AttachStdin, create.TTY); err != nil {
			return err
		}
	}
	if create.TTY {
		if h, w, ok := ttySize(cli); ok {
			create.ConsoleSize = client.ConsoleSize{Height: h, Width: w}
		}
	}
	res, err := api.ExecCreate(ctx, ref, create)
	if err != nil {
		return err
	}
	if res.ID == "" {
		return errors.New("exec ID empty")
	}
	if opts.detach {
		_, err := api.ExecStart(ctx, res.ID, client.ExecStartOptions{Detach: true, TTY: create.TTY, ConsoleSize: create.ConsoleSize})
		return err
	}

	att, err := api.ExecAttach(ctx, res.ID, client.ExecAttachOptions{TTY: create.TTY, ConsoleSize: create.ConsoleSize})
	if err != nil {
		return err
	}
	defer att.Close()
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if create.TTY && outIsTerminal(cli) {
		monitorTTYSize(streamCtx, cli, func(ctx context.Context, h, w uint) error {
			_, err := api.ExecResize(ctx, res.ID, client.ExecResizeOptions{Height: h, Width: w})
			return err
		})
	}
	sess := newIOSession(cli, create.AttachStdin, create.TTY, opts.detachKeys)
	if err := sess.stream(streamCtx, att.HijackedResponse); err != nil {
		return err
	}
	return execExitStatus(ctx, api, res.ID)
}

// execExitStatus turns the finished exec's exit code into berth's.
func execExitStatus(ctx context.Context, api command.APIClient, execID string) error {
	r, err := api.ExecInspect(ctx, execID, client.ExecInspectOptions{})
	// The stream can end a moment before the daemon records the exit.
	for i := 0; err == nil && r.Running && i < 50; i++ {
		time.Sleep(20 * time.Millisecond)
		r, err = api.ExecInspect(ctx, execID, client.ExecInspectOptions{})
	}
	if err != nil {
		if client.IsErrConnectionFailed(err) {
			// The daemon went away: the status is unknown.
			return command.StatusError{StatusCode: -1}
		}
		return err
	}
	if r.ExitCode != 0 {
		return command.StatusError{StatusCode: r.ExitCode}
	}
	return nil
}

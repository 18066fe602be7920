package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/command/container"
	"github.com/berth-engine/berth/internal/cli/command/image"
	"github.com/berth-engine/berth/internal/cli/command/network"
	"github.com/berth-engine/berth/internal/cli/command/registry"
	"github.com/berth-engine/berth/internal/cli/command/system"
	"github.com/berth-engine/berth/internal/cli/command/volume"
)

var logLevels = []string{"debug", "info", "warn", "error", "fatal"}

// NewRootCommand returns the `berth` command with the whole tree.
func NewRootCommand(cli *command.Cli) *cobra.Command {
	var showVersion bool
	o := &cli.Options
	cmd := &cobra.Command{
		Use:              "berth [OPTIONS] COMMAND [ARG...]",
		Short:            "A Docker-compatible container engine",
		SilenceUsage:     true,
		SilenceErrors:    true,
		TraverseChildren: true,
		Args:             cobra.ArbitraryArgs,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return checkGlobalOptions(o)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				fmt.Fprintf(cli.Out(), "berth version %s\n", command.ClientVersion())
				return nil
			}
			if len(args) > 0 {
				return command.StatusError{
					Status:     fmt.Sprintf("berth: unknown command: berth %s\n\nRun 'berth --help' for more information", args[0]),
					StatusCode: 1,
				}
			}
			cmd.SetOut(cli.Out())
			return cmd.Help()
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	cmd.SetFlagErrorFunc(command.FlagError)
	cmd.SetOut(cli.Out())
	cmd.SetErr(cli.Err())

	// Global flags belong to the root only (docker's layout): they go before
	// the command, and verbs may reuse their letters (`ps -l`).
	f := cmd.Flags()
	f.StringArrayVarP(&o.Hosts, "host", "H", nil, "Daemon socket to connect to")
	f.StringVarP(&o.Context, "context", "c", "", "Name of the context to use (berth has no contexts: use -H or BERTH_HOST)")
	f.BoolVarP(&o.Debug, "debug", "D", false, "Enable debug mode")
	f.StringVarP(&o.LogLevel, "log-level", "l", "info", `Set the logging level ("debug", "info", "warn", "error", "fatal")`)
	f.StringVar(&o.ConfigDir, "config", "", "Location of client config files")
	f.BoolVar(&o.TLS, "tls", false, "Use TLS; implied by --tlsverify (not supported yet)")
	f.BoolVar(&o.TLSVerify, "tlsverify", false, "Use TLS and verify the remote (not supported yet)")
	f.StringVar(&o.TLSCACert, "tlscacert", "", "Trust certs signed only by this CA (not supported yet)")
	f.StringVar(&o.TLSCert, "tlscert", "", "Path to TLS certificate file (not supported yet)")
	f.StringVar(&o.TLSKey, "tlskey", "", "Path to TLS key file (not supported yet)")
	f.BoolVarP(&showVersion, "version", "v", false, "Print version information and quit")

	addCommands(cmd, cli)
	disableFlagsInUseLine(cmd)
	return cmd
}

// addCommands wires the tree. A new verb is one file in its resource
// package with a NewXCommand; it is added to the management command there
// and, when docker has a top-level alias, once more here.
func addCommands(root *cobra.Command, cli *command.Cli) {
	root.AddCommand(
		// management commands
		container.NewContainerCommand(cli),
		image.NewImageCommand(cli),
		volume.NewVolumeCommand(cli),
		network.NewNetworkCommand(cli),
		system.NewSystemCommand(cli),
		// top-level commands and docker's aliases
		system.NewVersionCommand(cli),
		system.NewInfoCommand(cli),
		alias(container.NewListCommand(cli), "ps [OPTIONS]"),
		alias(image.NewListCommand(cli), "images [OPTIONS] [REPOSITORY[:TAG]]"),
		container.NewRunCommand(cli),
		container.NewCreateCommand(cli),
		container.NewStartCommand(cli),
		container.NewStopCommand(cli),
		container.NewKillCommand(cli),
		container.NewRestartCommand(cli),
		container.NewWaitCommand(cli),
		alias(container.NewRmCommand(cli), "rm [OPTIONS] CONTAINER [CONTAINER...]"),
		container.NewLogsCommand(cli),
		container.NewTopCommand(cli),
		container.NewRenameCommand(cli),
		container.NewStatsCommand(cli),
		container.NewAttachCommand(cli),
		container.NewExecCommand(cli),
		container.NewPauseCommand(cli),
		container.NewUnpauseCommand(cli),
		container.NewUpdateCommand(cli),
		system.NewInspectCommand(cli),
		image.NewImportCommand(cli),
		alias(image.NewRemoveCommand(cli), "rmi [OPTIONS] IMAGE [IMAGE...]"),
		image.NewTagCommand(cli),
		image.NewHistoryCommand(cli),
		image.NewSaveCommand(cli),
		image.NewLoadCommand(cli),
		image.NewPullCommand(cli),
		image.NewPushCommand(cli),
		registry.NewLoginCommand(cli),
		registry.NewLogoutCommand(cli),
		container.NewCommitCommand(cli),
		container.NewPortCommand(cli),
		system.NewEventsCommand(cli),
		container.NewDiffCommand(cli),
		container.NewExportCommand(cli),
		container.NewCopyCommand(cli),
	)
}

// alias renames a verb for its top-level form (`container ls` → `ps`).
func alias(cmd *cobra.Command, use string) *cobra.Command {
	cmd.Use = use
	cmd.Aliases = nil
	return cmd
}

func checkGlobalOptions(o *command.Options) error {
	if o.Context != "" && o.Context != "default" {
		return fmt.Errorf("berth has no contexts (--context %s): use -H or BERTH_HOST to choose a daemon", o.Context)
	}
	if o.TLS || o.TLSVerify || o.TLSCACert != "" || o.TLSCert != "" || o.TLSKey != "" {
		return errors.New("TLS connections are not supported yet: use a unix socket")
	}
	for _, l := range logLevels {
		if o.LogLevel == l {
			return nil
		}
	}
	return fmt.Errorf("Unable to parse logging level: %s", o.LogLevel)
}

// Run executes args (without the program name) and returns the exit status,
// printing errors to cli.Err() as docker does.
func Run(ctx context.Context, cli *command.Cli, args []string) int {
	root := NewRootCommand(cli)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	cli.Close()
	if err == nil {
		return 0
	}
	var se command.StatusError
	if errors.As(err, &se) {
		if se.Status != "" {
			fmt.Fprintln(cli.Err(), se.Status)
		} else if se.Cause != nil {
			printError(cli.Err(), cli.Host(), se.Cause)
		}
		if se.StatusCode == 0 {
			return 1
		}
		return se.StatusCode
	}
	printError(cli.Err(), cli.Host(), err)
	return 1
}

// printError prints a command's error; connection failures name berthd.
func printError(w io.Writer, host string, err error) {
	if client.IsErrConnectionFailed(err) {
		fmt.Fprintf(w, "Cannot connect to the berth daemon at %s. Is berthd running?\n", host)
		return
	}
	fmt.Fprintln(w, err)
}

// disableFlagsInUseLine keeps usage lines as docker prints them
// ("berth ps [OPTIONS]", without cobra's "[flags]").
func disableFlagsInUseLine(cmd *cobra.Command) {
	cmd.DisableFlagsInUseLine = true
	for _, c := range cmd.Commands() {
		disableFlagsInUseLine(c)
	}
}

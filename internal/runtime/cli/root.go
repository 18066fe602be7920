package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/runtime/container"
)

// Version is set at build time.
var Version = "dev"

type globalOpts struct {
	root          string
	log           string
	logFormat     string
	debug         bool
	systemdCgroup bool
	criu          string
	rootless      string
}

// exitError carries a process exit code through cobra without printing.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the command line and returns the process exit code.
func Main(args []string) int {
	g := &globalOpts{}
	cmd := newRootCommand(g)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(os.Stderr, "berth-runtime: %v\n", err)
	if g.log != "" {
		if l, closeFn := g.logger(); l != nil {
			l.Error(err.Error())
			closeFn()
		}
	}
	return 1
}

func newRootCommand(g *globalOpts) *cobra.Command {
	root := &cobra.Command{
		Use:           "berth-runtime",
		Short:         "berth's OCI container runtime (runc-compatible command line)",
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("berth-runtime version {{.Version}}\nspec: 1.3.0\n")
	f := root.PersistentFlags()
	f.StringVar(&g.root, "root", container.DefaultRoot, "root directory for storage of container state (this should be located in tmpfs)")
	f.StringVar(&g.log, "log", "", "set the log file to write berth-runtime logs to (default is stderr)")
	f.StringVar(&g.logFormat, "log-format", "text", "set the log format ('text' (default), or 'json')")
	f.BoolVar(&g.debug, "debug", false, "enable debug logging")
	f.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "enable systemd cgroup support (not supported: refused with an error)")
	f.StringVar(&g.criu, "criu", "criu", "path to the criu binary (accepted for compatibility)")
	f.StringVar(&g.rootless, "rootless", "auto", "ignore cgroup permission errors ('true', 'false', or 'auto'; accepted for compatibility)")
	root.AddCommand(
		newCreateCommand(g), newStartCommand(g), newRunCommand(g), newStateCommand(g),
		newKillCommand(g), newDeleteCommand(g), newExecCommand(g), newPsCommand(g),
		newListCommand(g), newPauseCommand(g), newResumeCommand(g), newUpdateCommand(g),
		newSpecCommand(), newEventsCommand(g), newFeaturesCommand(),
	)
	return root
}

func (g *globalOpts) logger() (*slog.Logger, func()) {
	var w io.Writer = os.Stderr
	closeFn := func() {}
	if g.log != "" {
		f, err := os.OpenFile(g.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, closeFn
		}
		w, closeFn = f, func() { f.Close() }
	}
	level := slog.LevelInfo
	if g.debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), closeFn
	}
	return slog.New(slog.NewTextHandler(w, opts)), closeFn
}

func (g *globalOpts) runtime() (*container.Runtime, error) {
	switch g.logFormat {
	case "text", "json":
	default:
		return nil, fmt.Errorf("invalid log-format: %s", g.logFormat)
	}
	if g.systemdCgroup {
		return nil, errors.New("--systemd-cgroup: the systemd cgroup driver is not supported by berth-runtime; use the cgroupfs driver (drop the flag)")
	}
	l, _ := g.logger()
	return container.New(container.Options{Root: g.root, SystemdCgroup: g.systemdCgroup, Logger: l})
}

func (g *globalOpts) load(id string) (*container.Container, error) {
	rt, err := g.runtime()
	if err != nil {
		return nil, err
	}
	return rt.Load(id)
}

// exactID is cobra's argument check for commands that take one container ID.
func exactID(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%q requires exactly 1 argument (a container ID), got %d", cmd.CommandPath(), len(args))
	}
	return nil
}

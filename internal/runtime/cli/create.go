package cli

import (
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/runtime/container"
)

type createOpts struct {
	bundle        string
	consoleSocket string
	pidFile       string
	noPivot       bool
	noNewKeyring  bool
	preserveFDs   int
}

func addCreateFlags(cmd *cobra.Command, o *createOpts) {
	f := cmd.Flags()
	f.StringVarP(&o.bundle, "bundle", "b", ".", "path to the root of the bundle directory")
	f.StringVar(&o.consoleSocket, "console-socket", "", "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
	f.StringVar(&o.pidFile, "pid-file", "", "specify the file to write the process id to")
	f.BoolVar(&o.noPivot, "no-pivot", false, "do not use pivot root to jail process inside rootfs")
	f.BoolVar(&o.noNewKeyring, "no-new-keyring", false, "do not create a new session keyring for the container")
	f.IntVar(&o.preserveFDs, "preserve-fds", 0, "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)")
}

func (o *createOpts) containerOpts() container.CreateOpts {
	return container.CreateOpts{
		Bundle: o.bundle, PidFile: o.pidFile, ConsoleSocket: o.consoleSocket,
		NoPivot: o.noPivot, PreserveFDs: o.preserveFDs,
	}
}

func newCreateCommand(g *globalOpts) *cobra.Command {
	o := &createOpts{}
	cmd := &cobra.Command{
		Use:   "create [flags] <container-id>",
		Short: "create a container",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			_, err = rt.Create(args[0], o.containerOpts())
			return err
		},
	}
	addCreateFlags(cmd, o)
	return cmd
}

func newStartCommand(g *globalOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "start <container-id>",
		Short: "executes the user defined process in a created container",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.load(args[0])
			if err != nil {
				return err
			}
			return c.Start()
		},
	}
}

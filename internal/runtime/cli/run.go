package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/berth-engine/berth/internal/runtime/container"
)

func newRunCommand(g *globalOpts) *cobra.Command {
	o := &createOpts{}
	var detach, keep bool
	cmd := &cobra.Command{
		Use:   "run [flags] <container-id>",
		Short: "create and run a container",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			code, err := runContainer(rt, args[0], o, detach, keep)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	addCreateFlags(cmd, o)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "detach from the container's process")
	cmd.Flags().BoolVar(&keep, "keep", false, "do not delete the container after it exits")
	return cmd
}

// runContainer is create + start, then (unless detached) waits for the init
// while forwarding signals and the terminal, and deletes the container.
func runContainer(rt *container.Runtime, id string, o *createOpts, detach, keep bool) (int, error) {
	// Catch signals before the container exists so none is lost. First
	// thing: Notify of every signal is ~130 thread switches with the
	// runtime's signal thread (~0.6 ms here), which then overlap reading
	// the bundle, on the CPU the prespawned init leaves idle until its
	// bootstrap comes, instead of the cgroup work that init waits for.
	fwd := forwardSignals(detach)
	spec, err := container.LoadSpec(o.bundle)
	if err != nil {
		return -1, err
	}
	copts := o.containerOpts()
	var tty *ttyProxy
	if spec.Process != nil && spec.Process.Terminal && o.consoleSocket == "" {
		if detach {
			return -1, fmt.Errorf("cannot allocate tty if berth-runtime will detach without setting console socket")
		}
		tty, err = newTTYProxy()
		if err != nil {
			return -1, err
		}
		defer tty.close()
		copts.Console = tty.remote
	}
	copts.Spec = spec
	copts.HoldExe = !detach
	copts.NoFastMarkers = !detach
	copts.StartOnSocket = true
	c, err := rt.Create(id, copts)
	fwd.ready()
	if err != nil {
		return -1, err
	}
	if tty != nil {
		if err := tty.receive(); err != nil {
			_ = c.Delete(true)
			return -1, err
		}
	}
	err = c.Start()
	// The container runs (or start failed): drop our hold on the init's
	// executable while we wait, so its release is not on the path.
	c.ReleaseExe()
	if err != nil {
		_ = c.Delete(true)
		return -1, err
	}
	if detach {
		return 0, nil
	}
	code := fwd.wait(c.Wait, func(sig unix.Signal) { _ = c.Signal(sig, false) }, tty)
	if !keep {
		if err := c.Delete(true); err != nil {
			return code, err
		}
	}
	return code, nil
}

// ttyProxy is run's own console when no --console-socket is given: it
// receives the pty master and copies it to and from this process's stdio.
type ttyProxy struct {
	local, remote *os.File
	master        *os.File
	oldState      *term.State
	outDone       chan struct{}
}

func newTTYProxy() (*ttyProxy, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &ttyProxy{local: os.NewFile(uintptr(fds[0]), "console-local"), remote: os.NewFile(uintptr(fds[1]), "console-remote"), outDone: make(chan struct{})}, nil
}

func (t *ttyProxy) receive() error {
	master, err := container.RecvFd(t.local)
	if err != nil {
		return err
	}
	t.master = master
	if term.IsTerminal(int(os.Stdin.Fd())) {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			t.oldState = st
		}
		t.resize()
	}
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	go func() {
		_, _ = io.Copy(os.Stdout, master)
		close(t.outDone)
	}()
	return nil
}

func (t *ttyProxy) resize() {
	if t.master == nil {
		return
	}
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	_ = unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
}

// drain waits for the output copy to finish once the container has exited
// (the pty reports EIO when the last slave closes).
func (t *ttyProxy) drain() {
	if t.master != nil {
		select {
		case <-t.outDone:
		case <-time.After(2 * time.Second):
			// a background process still holds the pty open
		}
	}
}

func (t *ttyProxy) close() {
	if t.oldState != nil {
		_ = term.Restore(int(os.Stdin.Fd()), t.oldState)
	}
	t.local.Close()
	t.remote.Close()
	if t.master != nil {
		t.master.Close()
	}
}

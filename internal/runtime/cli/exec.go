package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/runtime/container"
	"github.com/berth-engine/berth/internal/runtime/specjson"
)

type execOpts struct {
	consoleSocket string
	cwd           string
	env           []string
	tty           bool
	user          string
	additionalGID []int64
	processPath   string
	detach        bool
	pidFile       string
	processLabel  string
	apparmor      string
	noNewPrivs    bool
	caps          []string
	preserveFDs   int
	ignorePaused  bool
	cgroup        []string
}

func newExecCommand(g *globalOpts) *cobra.Command {
	o := &execOpts{}
	cmd := &cobra.Command{
		Use:   "exec [flags] <container-id> <command> [command options]  || -p process.json <container-id>",
		Short: "execute new process inside the container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.load(args[0])
			if err != nil {
				return err
			}
			p, err := o.process(c.Spec(), args[1:], cmd)
			if err != nil {
				return err
			}
			code, err := runExec(c, p, o)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.StringVar(&o.consoleSocket, "console-socket", "", "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
	f.StringVar(&o.cwd, "cwd", "", "current working directory in the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set environment variables")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.StringVarP(&o.user, "user", "u", "", "UID (format: <uid>[:<gid>])")
	f.Int64SliceVarP(&o.additionalGID, "additional-gids", "g", nil, "additional gids")
	f.StringVarP(&o.processPath, "process", "p", "", "path to the process.json")
	f.BoolVarP(&o.detach, "detach", "d", false, "detach from the container's process")
	f.StringVar(&o.pidFile, "pid-file", "", "specify the file to write the process id to")
	f.StringVar(&o.processLabel, "process-label", "", "set the asm process label for the process commonly used with selinux")
	f.StringVar(&o.apparmor, "apparmor", "", "set the apparmor profile for the process")
	f.BoolVar(&o.noNewPrivs, "no-new-privs", false, "set the no new privileges value for the process")
	f.StringArrayVarP(&o.caps, "cap", "c", nil, "add a capability to the bounding set for the process")
	f.IntVar(&o.preserveFDs, "preserve-fds", 0, "pass N additional file descriptors to the container")
	f.BoolVar(&o.ignorePaused, "ignore-paused", false, "allow exec in a paused container")
	f.StringArrayVar(&o.cgroup, "cgroup", nil, "run the process in a sub-cgroup (not supported yet)")
	return cmd
}

// process builds the exec'd process: process.json if given, else the
// container's own process with the command line's overrides, as runc does.
func (o *execOpts) process(spec *specs.Spec, args []string, cmd *cobra.Command) (*specs.Process, error) {
	if len(o.cgroup) > 0 {
		return nil, errors.New("exec --cgroup is not supported by berth-runtime yet")
	}
	if o.processPath != "" {
		data, err := os.ReadFile(o.processPath)
		if err != nil {
			return nil, fmt.Errorf("read process.json: %w", err)
		}
		var p specs.Process
		if err := specjson.UnmarshalProcess(data, &p); err != nil {
			return nil, fmt.Errorf("parse process.json: %w", err)
		}
		if len(p.Args) == 0 {
			return nil, errors.New("process.json: args must not be empty")
		}
		return &p, nil
	}
	if len(args) == 0 {
		return nil, errors.New("exec: a command is required")
	}
	if spec == nil || spec.Process == nil {
		return nil, errors.New("container has no process spec")
	}
	p := *spec.Process
	p.Args = args
	p.Terminal = o.tty
	p.ConsoleSize = nil
	p.Env = append(append([]string(nil), p.Env...), o.env...)
	if o.cwd != "" {
		p.Cwd = o.cwd
	}
	if cmd.Flags().Changed("no-new-privs") {
		p.NoNewPrivileges = o.noNewPrivs
	}
	if o.user != "" {
		uid, gid, _ := strings.Cut(o.user, ":")
		n, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parsing %s as int for uid failed: %w", uid, err)
		}
		p.User.UID = uint32(n)
		if gid != "" {
			n, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("parsing %s as int for gid failed: %w", gid, err)
			}
			p.User.GID = uint32(n)
		}
	}
	for _, g := range o.additionalGID {
		if g < 0 {
			return nil, fmt.Errorf("additional gid %d is negative", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if len(o.caps) > 0 {
		c := &specs.LinuxCapabilities{}
		if p.Capabilities != nil {
			*c = *p.Capabilities
		}
		for _, name := range o.caps {
			c.Bounding = append(c.Bounding, name)
			c.Effective = append(c.Effective, name)
			c.Permitted = append(c.Permitted, name)
		}
		p.Capabilities = c
	}
	return &p, nil
}

func runExec(c *container.Container, p *specs.Process, o *execOpts) (int, error) {
	eo := container.ExecOpts{
		Process: p, ConsoleSocket: o.consoleSocket, PidFile: o.pidFile,
		PreserveFDs: o.preserveFDs, IgnorePaused: o.ignorePaused,
	}
	var tty *ttyProxy
	if p.Terminal && o.consoleSocket == "" {
		if o.detach {
			return -1, errors.New("cannot allocate tty if berth-runtime will detach without setting console socket")
		}
		var err error
		if tty, err = newTTYProxy(); err != nil {
			return -1, err
		}
		defer tty.close()
		eo.Console = tty.remote
	}
	fwd := forwardSignals(o.detach)
	proc, err := c.Exec(eo)
	fwd.ready()
	if err != nil {
		return -1, err
	}
	if tty != nil {
		if err := tty.receive(); err != nil {
			return -1, err
		}
	}
	if o.detach {
		return 0, nil
	}
	return fwd.wait(proc.Wait, func(sig unix.Signal) { _ = unix.Kill(proc.Pid, sig) }, tty), nil
}

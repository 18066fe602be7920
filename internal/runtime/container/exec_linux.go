package container

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/runtime/caps"
	"github.com/berth-engine/berth/internal/runtime/nsexec"
	"github.com/berth-engine/berth/internal/runtime/seccomp"
)

// ExecOpts are `exec`'s flags.
type ExecOpts struct {
	Process       *specs.Process
	ConsoleSocket string
	Console       *os.File
	PidFile       string
	PreserveFDs   int
	IgnorePaused  bool
	Stdin         *os.File
	Stdout        *os.File
	Stderr        *os.File
}

// Process is a process started in a running container by Exec.
type Process struct {
	Pid int
}

// Wait waits for an exec'd process and returns its exit code. Only the
// caller of Exec can wait: the process is its child.
func (p *Process) Wait() (int, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.Pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("wait for process %d: %w", p.Pid, err)
		}
		trace("exec: process exited")
		return exitCode(ws), nil
	}
}

// Exec starts opts.Process inside the running container: in every one of
// its namespaces and in its cgroup, with the container's seccomp filter.
func (c *Container) Exec(opts ExecOpts) (*Process, error) {
	p := opts.Process
	if p == nil || len(p.Args) == 0 {
		return nil, errors.New("exec: process args must not be empty")
	}
	switch st := c.Status(); st {
	case Running, Created:
	case Paused:
		if !opts.IgnorePaused {
			return nil, fmt.Errorf("container %s: %w", c.rec.ID, ErrPaused)
		}
	default:
		return nil, fmt.Errorf("cannot exec in a stopped container")
	}
	if p.Terminal && opts.ConsoleSocket == "" && opts.Console == nil {
		return nil, errors.New("cannot allocate a terminal without --console-socket")
	}
	if err := validateRlimits(p.Rlimits); err != nil {
		return nil, err
	}
	trace("exec")
	spec := c.rec.Spec
	boot := &nsexec.Bootstrap{}
	base := "/proc/" + strconv.Itoa(c.rec.InitPid) + "/ns/"
	for _, ns := range spec.Linux.Namespaces {
		t := nsTypes[ns.Type]
		boot.Join = append(boot.Join, nsexec.Join{Type: t.proc, Path: base + t.proc})
	}
	if w := c.cgroupWhere(); w != nil {
		boot.CgroupTasks, boot.CgroupV2 = w.SelfJoin()
	} else {
		cg, err := c.cgroup()
		if err != nil {
			return nil, err
		}
		boot.CgroupTasks, boot.CgroupV2 = cg.SelfJoin()
	}
	var err error
	console := opts.Console
	if opts.ConsoleSocket != "" {
		if console, err = dialConsoleSocket(opts.ConsoleSocket); err != nil {
			return nil, err
		}
		defer console.Close()
	}
	cfg := &initConfig{
		Exec: true, ID: c.rec.ID, Bundle: c.rec.Bundle, Rootfs: c.rec.Rootfs,
		Process: p, PreserveFDs: opts.PreserveFDs,
	}
	if cfg.SeccompBPF, err = c.rt.compileSeccomp(spec.Linux.Seccomp); err != nil {
		return nil, err
	}
	if boot.Exec, err = cExec(p, opts.PreserveFDs, cfg.SeccompBPF); err != nil {
		return nil, err
	}
	trace("exec: bootstrap ready")
	proc, err := c.rt.spawn(boot, nil, nil, opts.PreserveFDs, stdio{opts.Stdin, opts.Stdout, opts.Stderr}, nil, console, cfg)
	if err != nil {
		return nil, err
	}
	defer proc.close()
	go proc.exe.Close() // not on the critical path: see overlaySelf
	trace("exec: pid known")
	kill := func(err error) (*Process, error) {
		_ = unix.Kill(proc.pid, unix.SIGKILL)
		reapOrWait(proc.pid)
		return nil, err
	}
	if boot.Exec == nil {
		if err := proc.send(syncMsg{Type: msgConfig, Config: cfg}); err != nil {
			return kill(err)
		}
	} else if _, err := proc.sock.Write([]byte{nsexec.ExecGo}); err != nil {
		return kill(fmt.Errorf("exec: release the C stage: %w", err))
	}
	// The socket closes at execve: EOF is success, a message is a failure.
	if m, err := proc.recv(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = fmt.Errorf("exec: unexpected message %q", m.Type)
		}
		return kill(err)
	}
	trace("exec: process running")
	if opts.PidFile != "" {
		if err := writePidFile(opts.PidFile, proc.pid); err != nil {
			return kill(err)
		}
	}
	return &Process{Pid: proc.pid}, nil
}

// execProcess is the init side of Exec: the C stage has joined the
// container's namespaces; set up the process and execve.
func execProcess(s *initSock, cfg *initConfig) error {
	if cfg.Process.Terminal {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
		if _, err := setupConsole(cfg); err != nil {
			return err
		}
	}
	fin, err := prepareProcess(cfg)
	if err != nil {
		return err
	}
	return fin.exec()
}

// cExec returns the process for the C stage to set up and exec by itself
// (nsexec.Exec), or nil when it needs the Go stage: a terminal (the console
// handshake), an I/O priority or a scheduler policy. Skipping the Go stage
// saves a Go runtime start (~2.5 ms here) per exec. BERTH_RUNTIME_GO_EXEC=1
// forces the Go stage, for comparison.
func cExec(p *specs.Process, preserve int, bpf []byte) (*nsexec.Exec, error) {
	if p.Terminal || os.Getenv("BERTH_RUNTIME_GO_EXEC") == "1" {
		return nil, nil
	}
	return cProcess(p, preserve, bpf)
}

// cProcess is cExec's process setup for the C stage, terminal aside (the C
// init handles the console itself; an exec's console stays with Go).
func cProcess(p *specs.Process, preserve int, bpf []byte) (*nsexec.Exec, error) {
	if p.IOPriority != nil || p.Scheduler != nil {
		return nil, nil
	}
	e := &nsexec.Exec{
		KeepFDs:    3 + preserve,
		NoNewPrivs: p.NoNewPrivileges,
		UID:        p.User.UID,
		GID:        p.User.GID,
		Groups:     p.User.AdditionalGids,
		Umask:      p.User.Umask,
		Cwd:        p.Cwd,
		Args:       p.Args,
		Env:        p.Env,
		AddHome:    !slices.ContainsFunc(p.Env, func(v string) bool { return strings.HasPrefix(v, "HOME=") }),
	}
	if len(bpf) > 0 {
		var prog seccomp.Program
		if err := prog.UnmarshalBinary(bpf); err != nil {
			return nil, fmt.Errorf("decode seccomp program: %w", err)
		}
		e.SeccompFlag = prog.Flags
		e.SeccompBPF = make([]byte, 0, 8*len(prog.Instructions))
		for _, in := range prog.Instructions {
			e.SeccompBPF = binary.LittleEndian.AppendUint16(e.SeccompBPF, in.Code)
			e.SeccompBPF = append(e.SeccompBPF, in.Jt, in.Jf)
			e.SeccompBPF = binary.LittleEndian.AppendUint32(e.SeccompBPF, in.K)
		}
	}
	masks, err := caps.Masks(p.Capabilities)
	if err != nil {
		return nil, err
	}
	e.Caps = masks
	for _, r := range p.Rlimits {
		e.Rlimits = append(e.Rlimits, nsexec.Rlimit{Resource: rlimitTypes[r.Type], Soft: r.Soft, Hard: r.Hard})
	}
	return e, nil
}

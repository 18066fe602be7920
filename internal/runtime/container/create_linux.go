package container

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/runtime/cgroups"
	"github.com/berth-engine/berth/internal/runtime/nsexec"
	"github.com/berth-engine/berth/internal/runtime/rootfs"
)

// CreateOpts are `create`'s flags.
type CreateOpts struct {
	Bundle        string
	Spec          *specs.Spec // the bundle's config.json when the caller has read it already
	PidFile       string
	ConsoleSocket string   // path of a unix socket that receives the pty master
	Console       *os.File // an already connected console socket (run without --console-socket)
	// HoldExe keeps this process's reference to the init's write-protected
	// executable until ReleaseExe (`run` releases it once the container
	// runs): the last reference dissolves the detached overlay (a wait on
	// the kernel's RCU), which is otherwise the init's, in the container's
	// execve.
	HoldExe bool
	// NoFastMarkers skips the markers of the C start and delete
	// (writeFastMarkers): `run` starts and deletes the container itself,
	// and without them any other caller takes the Go path.
	NoFastMarkers bool
	// StartOnSocket: only this process will start the container (`run`),
	// so a C init waits for Start on the socket this process keeps, not on
	// exec.fifo (then a plain file, which says "created" to others), and
	// dies if this process does. A Go init uses the fifo regardless.
	StartOnSocket bool
	NoPivot       bool
	PreserveFDs   int // fds 3 .. 3+PreserveFDs-1 of this process pass to the container
	Stdin         *os.File
	Stdout        *os.File
	Stderr        *os.File
}

// Create sets up container id from the bundle and leaves its init waiting
// for Start. On error nothing is left behind: no process, cgroup or state.
func (r *Runtime) Create(id string, opts CreateOpts) (_ *Container, retErr error) {
	trace("create")
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(opts.Bundle)
	if err != nil {
		return nil, err
	}
	spec := opts.Spec
	if spec == nil {
		if spec, err = LoadSpec(bundle); err != nil {
			return nil, err
		}
	}
	trace("spec loaded")
	if spec.Root == nil {
		return nil, errors.New("config.json: root is required")
	}
	rootfsPath := spec.Root.Path
	if !filepath.IsAbs(rootfsPath) {
		rootfsPath = filepath.Join(bundle, rootfsPath)
	}
	if rootfsPath, err = filepath.EvalSymlinks(rootfsPath); err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	plan, err := planNamespaces(spec.Linux)
	if err != nil {
		return nil, err
	}
	if err := validateSpec(spec, rootfsPath, plan); err != nil {
		return nil, err
	}
	trace("spec validated")
	bpf, err := r.compileSeccomp(spec.Linux.Seccomp)
	if err != nil {
		return nil, err
	}
	if spec.Process.Terminal && opts.ConsoleSocket == "" && opts.Console == nil {
		return nil, errors.New("cannot allocate a terminal without --console-socket")
	}
	if !spec.Process.Terminal && (opts.ConsoleSocket != "" || opts.Console != nil) {
		return nil, errors.New("--console-socket is only valid with process.terminal")
	}

	dir := r.dir(id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %s: %w", id, ErrExist)
		}
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	c := &Container{rt: r, dir: dir, rec: record{
		ID: id, Bundle: bundle, Rootfs: rootfsPath, Spec: spec,
		Created: time.Now().UTC(), Owner: ownerName(), SystemdCgroup: r.systemdCgroup,
	}}
	// The cgroups are made while the init process starts up. Finding the
	// hierarchies (cgroups.New, ~0.4 ms of stat calls) comes before the
	// spawn: the bootstrap names the hybrid host's unified directory, which
	// the C stage clones the init into. Without a user namespace, on a v1
	// (or hybrid) host, the directories and limits (~0.8 ms) are made right
	// after the bootstrap is sent, while the child execs and makes its
	// namespaces; the init joins the v1 hierarchies itself once the parent
	// says they exist (the Go init: cfg.CgroupTasks; the C init: at its
	// first cgroup mount). With a user namespace (the init loses the right
	// to write cgroupfs) or on a v2-only host, the C stage joins everything,
	// so it is all made before the bootstrap. All of it runs on this
	// goroutine, in this order: other goroutines started this early in a
	// fresh process get a CPU late (~1 ms here), which the child would
	// wait for.
	lateCreate := !plan.has[specs.UserNamespace] && !cgroups.IsV2()
	var cg *cgroups.Manager
	var initPid int
	defer func() {
		if retErr == nil {
			return
		}
		if initPid > 0 {
			_ = unix.Kill(initPid, unix.SIGKILL)
			reapOrWait(initPid)
		}
		c.ReleaseExe()
		if cg != nil {
			_ = cg.Destroy()
		}
		if !plan.has[specs.MountNamespace] {
			// The init mounted in our namespace (see rootfs.Cleanup).
			_ = rootfs.Cleanup(rootfsPath)
		}
		_ = os.RemoveAll(dir)
	}()

	// Most containers need no Go in their init: the C stage does it all.
	cinit, cexec, err := cInit(spec, plan, rootfsPath, bundle, opts, bpf)
	if err != nil {
		return nil, err
	}
	startOnSocket := opts.StartOnSocket && cinit != nil
	fifo, err := makeExecFifo(filepath.Join(dir, fifoName), spec.Linux, startOnSocket)
	if err != nil {
		return nil, err
	}
	if fifo != nil {
		defer fifo.Close()
	}

	console := opts.Console
	if opts.ConsoleSocket != "" {
		if console, err = dialConsoleSocket(opts.ConsoleSocket); err != nil {
			return nil, err
		}
		defer console.Close()
	}

	boot := &nsexec.Bootstrap{CloneFlags: plan.clone, Join: plan.join}
	if plan.newOf[specs.UserNamespace] {
		boot.UIDMap = idMap(spec.Linux.UIDMappings)
		boot.GIDMap = idMap(spec.Linux.GIDMappings)
	}
	boot.OOMScoreAdj = spec.Process.OOMScoreAdj
	if len(spec.Linux.TimeOffsets) > 0 {
		boot.TimeOffsets = timeOffsets(spec.Linux.TimeOffsets)
	}
	cfg := &initConfig{
		ID: id, Bundle: bundle, Rootfs: rootfsPath, Spec: initSpec(spec), Process: spec.Process,
		NoPivot: opts.NoPivot, NoMountNS: !plan.has[specs.MountNamespace],
		NewUserNS: plan.newOf[specs.UserNamespace], NewUTS: plan.newOf[specs.UTSNamespace],
		NewNetNS:    plan.newOf[specs.NetworkNamespace],
		NewCgroupNS: plan.cgroupNew, CgroupNS: plan.has[specs.CgroupNamespace],
		HooksSync:   spec.Hooks != nil && (len(spec.Hooks.Prestart) > 0 || len(spec.Hooks.CreateRuntime) > 0), //nolint:staticcheck // prestart is deprecated but still honoured
		PreserveFDs: opts.PreserveFDs, SeccompBPF: bpf, Trace: traceOn,
	}
	boot.Init, boot.Exec = cinit, cexec
	if cinit != nil {
		cinit.StartOnSocket = startOnSocket
		cinit.WaitLimits = lateCreate
	}
	if cg, err = cgroups.New(id, spec, cgroups.Options{Systemd: r.systemdCgroup, LayoutCache: filepath.Join(r.root, ".cgroup-layout")}); err != nil {
		return nil, err
	}
	trace("cgroup found")
	tasks, v2 := cg.SelfJoin()
	if !lateCreate {
		if err := cg.Create(); err != nil {
			return nil, err
		}
		trace("cgroup created")
		boot.CgroupTasks, boot.CgroupV2 = tasks, v2
	} else {
		if v2 != "" {
			// The hybrid host's unified directory: the C stage makes it
			// when its parent exists (the usual case), not in front of
			// the bootstrap.
			if _, err := os.Stat(filepath.Dir(v2)); err == nil {
				boot.CgroupV2Make = true
			} else if err := os.MkdirAll(v2, 0o755); err != nil {
				return nil, fmt.Errorf("cgroup %s: %w", v2, err)
			}
		}
		boot.CgroupV2 = v2
		cfg.CgroupTasks = tasks
		if boot.Init != nil {
			boot.Init.CgroupTasks = tasks
		}
	}
	afterBootstrap := func() error {
		if !lateCreate {
			return nil
		}
		err := cg.CreateDirs()
		trace("cgroup directories made")
		return err
	}
	// The C init waits at its first cgroup mount for one byte, sent as
	// soon as its pid is known (the directories exist by then), before the
	// C stage's first process is reaped. If the init failed already, its
	// message is what recv reads next.
	var onPid func(*initProc) error
	if boot.Init != nil {
		onPid = func(p *initProc) error { return p.release(nsexec.ExecGo, "the C stage") }
	}
	p, err := r.spawn(boot, afterBootstrap, onPid, opts.PreserveFDs, stdio{opts.Stdin, opts.Stdout, opts.Stderr}, fifo, console, cfg)
	if err != nil {
		return nil, err
	}
	if startOnSocket {
		// Start's; closed here only if Create fails.
		defer func() {
			if retErr != nil {
				p.close()
			}
		}()
		c.start = p
	} else {
		defer p.close()
	}
	if opts.HoldExe {
		c.exe = p.exe
	} else {
		// Not on the critical path: see overlaySelf.
		go p.exe.Close()
	}
	initPid = p.pid
	trace("spawned, init pid known")
	// The limits apply to the init's own set-up too: the devices cgroup's
	// rules to its mknod of the device nodes (between the driver's deny-all
	// and its allow rules every mknod fails). The Go init gets its config,
	// and joins, once they are written; the C init, which joined at its
	// first cgroup mount, waits for a second byte before its device nodes.
	if lateCreate {
		if err := cg.SetLimits(); err != nil {
			return nil, err
		}
		trace("cgroup limits set")
		if boot.Init != nil {
			if err := p.release(nsexec.ExecLimits, "the C stage's devices"); err != nil {
				return nil, err
			}
		}
	}
	if boot.Init == nil {
		if err := p.send(syncMsg{Type: msgConfig, Config: cfg}); err != nil {
			return nil, err
		}
		trace("config sent")
	}
	if _, start, err := procStat(initPid); err == nil {
		c.rec.InitPid, c.rec.InitStartTime = initPid, start
	} else {
		return nil, fmt.Errorf("init exited early: %w", err)
	}
	if c.rec.Cgroup, err = json.Marshal(cg.State()); err != nil {
		return nil, err
	}
	c.cg = cg
	// Everything the state records is known now: write it while the init
	// sets up, not after its ready. Until then the container reads as
	// created to others (the init is alive, exec.fifo exists), and a
	// start from another process waits at the fifo for the init as
	// usual; if the init fails, Create removes the state again.
	if err := c.save(); err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	if !opts.NoFastMarkers {
		c.writeFastMarkers(cg, !startOnSocket)
	}
	trace("state saved")
	for {
		m, err := p.recv()
		if err != nil {
			return nil, err
		}
		switch m.Type {
		case msgHooks:
			st := c.stateFor(Creating)
			if spec.Hooks != nil {
				if err := runHooks("prestart", spec.Hooks.Prestart, st); err != nil { //nolint:staticcheck
					return nil, err
				}
				if err := runHooks("createRuntime", spec.Hooks.CreateRuntime, st); err != nil {
					return nil, err
				}
			}
			if err := p.send(syncMsg{Type: msgHooksDone}); err != nil {
				return nil, err
			}
			continue
		case msgReady:
			trace("init ready")
		default:
			return nil, fmt.Errorf("init: unexpected message %q", m.Type)
		}
		break
	}
	if opts.PidFile != "" {
		if err := writePidFile(opts.PidFile, initPid); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// makeExecFifo makes the state directory's exec.fifo, whose presence says
// "created", and returns the O_PATH descriptor the init opens it through
// once it has pivoted away from the host's filesystem. With startOnSocket
// it is a plain file (nothing opens it; see releaseFifo) and no descriptor.
func makeExecFifo(path string, l *specs.Linux, startOnSocket bool) (*os.File, error) {
	if startOnSocket {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create exec fifo: %w", err)
		}
		return nil, f.Close()
	}
	if err := unix.Mkfifo(path, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	// Anyone may write (the umask took that away), and the container's
	// root owns it: in a user namespace that is another host uid.
	if err := os.Chmod(path, 0o622); err != nil {
		return nil, err
	}
	if uid, gid := hostRoot(l); uid != 0 || gid != 0 {
		if err := os.Chown(path, int(uid), int(gid)); err != nil {
			return nil, fmt.Errorf("chown exec fifo: %w", err)
		}
	}
	fifo, err := os.OpenFile(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	return fifo, nil
}

type stdio struct{ in, out, err *os.File }

// initProc is a spawned init during its setup conversation.
type initProc struct {
	pid  int
	proc *os.Process // the C stage's first process (the init itself unless it forked)
	sock *os.File
	rd   *bufio.Reader
	// exe holds the write-protected executable the init was started from
	// (and, prespawned, the detached overlay it lives in).
	exe io.Closer
}

// heldExe is a prespawned init's executable and the detached overlay it
// lives in: closing the overlay's fd dissolves it, a wait on the kernel's
// RCU, so it closes with the executable, off the start path.
type heldExe struct{ exe, mount *os.File }

func (h heldExe) Close() error {
	err := h.exe.Close()
	if h.mount != nil {
		_ = h.mount.Close()
	}
	return err
}

func (p *initProc) send(m syncMsg) error {
	data, err := encodeSyncMsg(&m)
	if err != nil {
		return err
	}
	if _, err := p.sock.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("init: send %s: %w", m.Type, err)
	}
	return nil
}

// recv reads the next message; an error message from the init becomes the
// returned error, and EOF means the init died or exec'd.
func (p *initProc) recv() (syncMsg, error) {
	var m syncMsg
	line, err := p.rd.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return m, io.EOF
		}
		return m, fmt.Errorf("init: %w", err)
	}
	if err := decodeSyncMsg(line, &m); err != nil {
		return m, fmt.Errorf("init: bad message %q: %w", line, err)
	}
	if m.Type == msgTrace {
		traceAt(m.Time, "init: "+m.Message)
		return p.recv()
	}
	if m.Type == msgError {
		return m, errors.New(m.Message)
	}
	return m, nil
}

// release writes one of the C stage's go-ahead bytes (ExecGo, ExecLimits).
// If the init has failed already, its message is what comes back instead.
func (p *initProc) release(b byte, what string) error {
	if _, err := p.sock.Write([]byte{b}); err != nil {
		if _, rerr := p.recv(); rerr != nil && !errors.Is(rerr, io.EOF) {
			return rerr
		}
		return fmt.Errorf("init: release %s: %w", what, err)
	}
	return nil
}

func (p *initProc) close() { p.sock.Close() }

// spawn starts `berth-runtime init` from a write-protected view of this
// executable (or adopts the one started before the Go runtime, see
// nsexec.TakePrespawned), sends the C stage's bootstrap, runs
// afterBootstrap (work that overlaps the child's namespace set-up), runs
// onPid as soon as the container's init is known by pid, and returns once
// the C stage's first process is reaped. Extra files land in the child as:
// preserved fds from 3, then the init socket, the fifo and the console
// socket; their numbers go into cfg.
func (r *Runtime) spawn(boot *nsexec.Bootstrap, afterBootstrap func() error, onPid func(*initProc) error, preserve int, io3 stdio, fifo, console *os.File, cfg *initConfig) (*initProc, error) {
	var p *initProc
	// The prespawned init has the socket at fd 3, this process's stdio
	// and nothing else.
	if pre := nsexec.TakePrespawned(); pre != nil {
		if preserve == 0 && io3 == (stdio{}) && fifo == nil && console == nil {
			if proc, err := os.FindProcess(pre.Pid); err == nil {
				p = &initProc{proc: proc, sock: pre.Sock, rd: bufio.NewReader(pre.Sock), exe: heldExe{pre.Exe, pre.Mount}}
				trace("init prespawned")
			}
		}
		if p == nil {
			pre.Discard()
		}
	}
	if p == nil {
		var err error
		if p, err = r.startInit(preserve, io3, fifo, console, cfg); err != nil {
			return nil, err
		}
	}
	spawned := false
	defer func() {
		if !spawned {
			go p.exe.Close()
		}
	}()
	parent := p.sock
	fail := func(err error) (*initProc, error) {
		_ = p.proc.Kill()
		_, _ = p.proc.Wait()
		if p.pid > 0 && p.pid != p.proc.Pid {
			_ = unix.Kill(p.pid, unix.SIGKILL)
			reapOrWait(p.pid)
		}
		parent.Close()
		return nil, err
	}
	if boot.Init != nil {
		boot.Init.FifoFd, boot.Init.ConsoleFd = cfg.FifoFd, cfg.ConsoleFd
	}
	data, err := boot.Encode()
	if err != nil {
		return fail(err)
	}
	if _, err := parent.Write(data); err != nil {
		return fail(fmt.Errorf("send bootstrap: %w", err))
	}
	// Work that overlaps the child's exec and namespaces.
	if afterBootstrap != nil {
		if err := afterBootstrap(); err != nil {
			return fail(err)
		}
	}
	for p.pid == 0 {
		m, err := p.recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("init exited during namespace setup (%v)", waitStatus(p.proc))
			}
			return fail(err)
		}
		switch m.Type {
		case msgUsermap:
			if err := writeIDMaps(p.proc.Pid, boot); err != nil {
				return fail(err)
			}
			if _, err := parent.Write([]byte{nsexec.UsermapAck}); err != nil {
				return fail(err)
			}
		case msgPid:
			p.pid = m.Pid
			if onPid != nil {
				if err := onPid(p); err != nil {
					return fail(err)
				}
			}
		default:
			return fail(fmt.Errorf("init: unexpected message %q", m.Type))
		}
	}
	if p.pid != p.proc.Pid {
		// The C stage forked the real init and exits: reap it. The init
		// is now our child (CLONE_PARENT, or reparented to us as the
		// subreaper).
		if st, err := p.proc.Wait(); err != nil || !st.Success() {
			return fail(fmt.Errorf("init's first stage failed: %v %v", st, err))
		}
	}
	spawned = true
	return p, nil
}

// startInit starts `berth-runtime init` from a write-protected view of this
// executable, with the init socket and the files spawn describes.
func (r *Runtime) startInit(preserve int, io3 stdio, fifo, console *os.File, cfg *initConfig) (*initProc, error) {
	exe, err := r.protectedSelf()
	if err != nil {
		return nil, err
	}
	trace("protected exe")
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		go exe.Close()
		return nil, fmt.Errorf("init socketpair: %w", err)
	}
	// The parent's end is non-blocking, so os.File waits on it in the
	// runtime's poller, not in a blocking read: a goroutine parked there
	// leaves every thread idle, where a blocked read keeps the runtime's
	// monitor thread waking every 20µs to take its P back.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		go exe.Close()
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("init socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "init-parent")
	child := os.NewFile(uintptr(fds[1]), "init-child")
	defer child.Close()

	cmd := &exec.Cmd{
		Path:   fmt.Sprintf("/proc/self/fd/%d", exe.Fd()),
		Args:   []string{"berth-runtime", "init"},
		Stdin:  orStd(io3.in, os.Stdin),
		Stdout: orStd(io3.out, os.Stdout),
		Stderr: orStd(io3.err, os.Stderr),
	}
	for i := 0; i < preserve; i++ {
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(3+i), "preserved"))
	}
	next := func(f *os.File) int {
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		return 2 + len(cmd.ExtraFiles)
	}
	sockFd := next(child)
	if fifo != nil {
		cfg.FifoFd = next(fifo)
	}
	if console != nil {
		cfg.ConsoleFd = next(console)
	}
	// The init's environment is only this: the container's comes from the
	// spec at execve. GOGC=off: the init is short-lived and allocates little.
	cmd.Env = []string{nsexec.EnvInitPipe + "=" + strconv.Itoa(sockFd), "GOGC=off", "GOMAXPROCS=1"}
	// The init may be our grandchild (see nsexec); as a subreaper we
	// inherit it when its parent exits, so Wait works either way.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		go exe.Close()
		parent.Close()
		return nil, fmt.Errorf("become child subreaper: %w", err)
	}
	if err := cmd.Start(); err != nil {
		go exe.Close()
		parent.Close()
		return nil, fmt.Errorf("start init: %w", err)
	}
	trace("init started")
	return &initProc{proc: cmd.Process, sock: parent, rd: bufio.NewReader(parent), exe: exe}, nil
}

func waitStatus(proc *os.Process) string {
	st, err := proc.Wait()
	if err != nil {
		return err.Error()
	}
	return st.String()
}

func orStd(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

func writeIDMaps(pid int, boot *nsexec.Bootstrap) error {
	base := "/proc/" + strconv.Itoa(pid)
	if boot.UIDMap != "" {
		if err := os.WriteFile(base+"/uid_map", []byte(boot.UIDMap), 0); err != nil {
			return fmt.Errorf("write uid_map: %w", err)
		}
	}
	if boot.GIDMap != "" {
		if err := os.WriteFile(base+"/gid_map", []byte(boot.GIDMap), 0); err != nil {
			return fmt.Errorf("write gid_map: %w", err)
		}
	}
	return nil
}

func idMap(m []specs.LinuxIDMapping) string {
	var b strings.Builder
	for _, e := range m {
		fmt.Fprintf(&b, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
	}
	return b.String()
}

func timeOffsets(m map[string]specs.LinuxTimeOffset) string {
	var b strings.Builder
	for clock, off := range m {
		fmt.Fprintf(&b, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
	}
	return b.String()
}

func ownerName() string {
	// The common case without a passwd lookup (NSS through cgo is slow).
	if os.Geteuid() == 0 {
		return "root"
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Geteuid())
}

// writePidFile writes pid the way runc does: the number alone, atomically.
func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	return writeFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644)
}

// reapOrWait collects pid if it is our child, or waits briefly for it to
// disappear when it is not.
func reapOrWait(pid int) {
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err == nil {
		return
	}
	for i := 0; i < 200; i++ {
		st, _, err := procStat(pid)
		if err != nil || st == 'Z' || st == 'X' {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *Container) stateFor(status string) specs.State {
	st := State{ID: c.rec.ID, Pid: c.rec.InitPid, Status: status, Bundle: c.rec.Bundle}
	if c.rec.Spec != nil {
		st.Annotations = c.rec.Spec.Annotations
	}
	return st.OCI()
}

// hostRoot is the host uid and gid of the container's root: 0 unless a user
// namespace maps it elsewhere.
func hostRoot(l *specs.Linux) (uint32, uint32) {
	find := func(m []specs.LinuxIDMapping) uint32 {
		for _, e := range m {
			if e.ContainerID == 0 {
				return e.HostID
			}
		}
		return 0
	}
	return find(l.UIDMappings), find(l.GIDMappings)
}

// initSpec is the part of the spec the init uses (filesystem, hooks that
// run inside, hostname, sysctls, personality; the process goes separately).
// Decoding JSON cold costs the init ~15 µs per Go type it meets, so the
// resource limits and the seccomp profile (handled by the parent, or
// already compiled) stay out.
func initSpec(s *specs.Spec) *specs.Spec {
	out := &specs.Spec{
		Version: s.Version, Root: s.Root, Mounts: s.Mounts,
		Hostname: s.Hostname, Domainname: s.Domainname, Annotations: s.Annotations,
	}
	if h := s.Hooks; h != nil && (len(h.CreateContainer) > 0 || len(h.StartContainer) > 0) {
		out.Hooks = &specs.Hooks{CreateContainer: h.CreateContainer, StartContainer: h.StartContainer}
	}
	if l := s.Linux; l != nil {
		out.Linux = &specs.Linux{
			Devices: l.Devices, MaskedPaths: l.MaskedPaths, ReadonlyPaths: l.ReadonlyPaths,
			RootfsPropagation: l.RootfsPropagation, Sysctl: l.Sysctl, Personality: l.Personality,
			MountLabel: l.MountLabel,
		}
	}
	return out
}

// writeFastMarkers lets `start` and `delete` skip the Go runtime
// (internal/runtime/faststart, whose doc has the contract) when they need
// nothing the spec says: no poststart hooks for start; no poststop hooks
// and the container's own mount namespace (no rootfs unmount) for delete.
// Without a marker the Go path runs, so a failure here only costs time.
// start=false writes no start marker (an init that waits on its socket).
func (c *Container) writeFastMarkers(cg *cgroups.Manager, start bool) {
	hooks := c.rec.Spec.Hooks
	initLine := fmt.Sprintf("%d %d\n", c.rec.InitPid, c.rec.InitStartTime)
	if start && (hooks == nil || len(hooks.Poststart) == 0) {
		_ = os.WriteFile(filepath.Join(c.dir, fastStartMarker), []byte(initLine), 0o600)
	}
	if (hooks == nil || len(hooks.Poststop) == 0) && c.hasMountNS() {
		var b strings.Builder
		b.WriteString(initLine)
		seen := map[string]bool{}
		for _, p := range cg.Paths() {
			if p != "" && !seen[p] {
				seen[p] = true
				b.WriteString(p + "\n")
			}
		}
		_ = os.WriteFile(filepath.Join(c.dir, fastDeleteMarker), []byte(b.String()), 0o600)
	}
}

package container

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/runtime/caps"
	"github.com/berth-engine/berth/internal/runtime/nsexec"
	"github.com/berth-engine/berth/internal/runtime/rootfs"
	"github.com/berth-engine/berth/internal/runtime/seccomp"
)

// Init is `berth-runtime init`: the Go stage of the container's init (or of
// an exec'd process), entered after the C stage has placed this process in
// its namespaces. It does not return when all goes well: it becomes the
// container's process through execve. Errors go to the parent over the init
// socket, and the process exits 1.
func Init() {
	initEntered = monotonic()
	// Capabilities, seccomp and the cgroup namespace are per thread: do all
	// of the setup on this one and execve from it.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv(nsexec.EnvInitPipe))
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-runtime init: not started by berth-runtime")
		os.Exit(1)
	}
	sock := os.NewFile(uintptr(fd), "init")
	os.Clearenv()
	if err := runInit(sock); err != nil {
		data, _ := json.Marshal(syncMsg{Type: msgError, Message: err.Error()})
		if _, werr := sock.Write(append(data, '\n')); werr != nil {
			// After create has returned nobody reads the socket: the
			// container's stderr is the only place left to say why.
			fmt.Fprintf(os.Stderr, "berth-runtime init: %v\n", err)
		}
		os.Exit(1)
	}
	// unreachable: runInit returns only with an error
	os.Exit(1)
}

// initEntered is when Init began, for the start-latency trace.
var initEntered int64

type initSock struct {
	f     *os.File
	rd    *bufio.Reader
	trace bool
}

func (s *initSock) phase(name string) {
	if s.trace {
		_ = s.send(syncMsg{Type: msgTrace, Message: name, Time: monotonic()})
	}
}

func (s *initSock) send(m syncMsg) error {
	data, err := encodeSyncMsg(&m)
	if err != nil {
		return err
	}
	_, err = s.f.Write(append(data, '\n'))
	return err
}

func (s *initSock) recv(want string) (syncMsg, error) {
	var m syncMsg
	line, err := s.rd.ReadBytes('\n')
	if err != nil {
		return m, fmt.Errorf("read from parent: %w", err)
	}
	if err := decodeSyncMsg(line, &m); err != nil {
		return m, err
	}
	if m.Type != want {
		return m, fmt.Errorf("expected %s from parent, got %s", want, m.Type)
	}
	return m, nil
}

func runInit(f *os.File) error {
	s := &initSock{f: f, rd: bufio.NewReader(f)}
	m, err := s.recv(msgConfig)
	if err != nil {
		return err
	}
	cfg := m.Config
	if cfg == nil || cfg.Process == nil {
		return errors.New("config message without a process")
	}
	s.trace = cfg.Trace
	if s.trace {
		received := monotonic() // before the first (cold) JSON encode below
		_ = s.send(syncMsg{Type: msgTrace, Message: "main entered", Time: initEntered})
		_ = s.send(syncMsg{Type: msgTrace, Message: "config received", Time: received})
	}
	if cfg.Exec {
		return execProcess(s, cfg)
	}
	return initContainer(s, cfg)
}

func initContainer(s *initSock, cfg *initConfig) error {
	spec := cfg.Spec
	// Join the v1 cgroups the C stage left to us. "0" in a tasks file moves
	// only this thread, without the kernel's global lock that moving a
	// whole process takes; it is the one that execs, and everything the
	// container starts descends from it.
	for _, t := range cfg.CgroupTasks {
		if err := writeFile(t, "0"); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	// In its cgroups by now, so the new cgroup namespace is rooted at the
	// container's own cgroup.
	if cfg.NewCgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	rcfg := &rootfs.Config{
		Rootfs: cfg.Rootfs, Bundle: cfg.Bundle, Spec: spec, NoPivot: cfg.NoPivot,
		UserNS: cfg.NewUserNS, CgroupNS: cfg.CgroupNS, NoMountNS: cfg.NoMountNS,
	}
	if err := rootfs.Prepare(rcfg); err != nil {
		return err
	}
	s.phase("rootfs prepared")
	if cfg.HooksSync {
		if err := s.send(syncMsg{Type: msgHooks}); err != nil {
			return err
		}
		if _, err := s.recv(msgHooksDone); err != nil {
			return err
		}
	}
	if spec.Hooks != nil && len(spec.Hooks.CreateContainer) > 0 {
		st := State{ID: cfg.ID, Pid: os.Getpid(), Status: Creating, Bundle: cfg.Bundle, Annotations: spec.Annotations}
		if err := runHooks("createContainer", spec.Hooks.CreateContainer, st.OCI()); err != nil {
			return err
		}
	}
	if err := rootfs.Pivot(rcfg); err != nil {
		return err
	}
	s.phase("pivoted")
	if cfg.Process.Terminal {
		slave, err := setupConsole(cfg)
		if err != nil {
			return err
		}
		if err := rootfs.BindConsole(slave); err != nil {
			return err
		}
	}
	if cfg.NewUTS || spec.Hostname != "" {
		if spec.Hostname != "" {
			if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
				return fmt.Errorf("set hostname: %w", err)
			}
		}
		if spec.Domainname != "" {
			if err := unix.Setdomainname([]byte(spec.Domainname)); err != nil {
				return fmt.Errorf("set domainname: %w", err)
			}
		}
	}
	// runc creates a missing working directory: as the container's root,
	// inside its root (we have pivoted), before the root turns read-only.
	// os.Root keeps the walk inside "/" whatever symlinks (or /proc magic
	// links) the path goes through.
	if cwd := cfg.Process.Cwd; cwd != "" {
		if err := mkdirInRoot(cwd); err != nil {
			return fmt.Errorf("create cwd %q: %w", cwd, err)
		}
	}
	if cfg.NewNetNS {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	for k, v := range spec.Linux.Sysctl {
		p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", k, v, err)
		}
	}
	if err := rootfs.Finish(rcfg); err != nil {
		return err
	}
	s.phase("rootfs finished")
	if spec.Linux.Personality != nil {
		if err := setPersonality(spec.Linux.Personality); err != nil {
			return err
		}
	}
	fin, err := prepareProcess(cfg)
	if err != nil {
		return err
	}
	s.phase("process prepared")
	// Check now that we may open the fifo, while create still listens: a
	// non-blocking open fails with ENXIO (no reader yet) only after the
	// permission check passed.
	fifoPath := fmt.Sprintf("/proc/self/fd/%d", cfg.FifoFd)
	if fd, err := unix.Open(fifoPath, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
	} else if !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	if err := s.send(syncMsg{Type: msgReady}); err != nil {
		return err
	}
	// Block until `start` opens the fifo for reading. The O_PATH descriptor
	// was opened on the host before pivot_root.
	fifo, err := unix.Open(fifoPath, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	if _, err := unix.Write(fifo, []byte("0")); err != nil {
		return fmt.Errorf("write exec fifo: %w", err)
	}
	// The write end stays open (close-on-exec): `start` reads to EOF, which
	// comes at execve, so poststart hooks run after the process is executed.
	unix.Close(cfg.FifoFd)
	if spec.Hooks != nil && len(spec.Hooks.StartContainer) > 0 {
		st := State{ID: cfg.ID, Pid: os.Getpid(), Status: Created, Bundle: cfg.Bundle, Annotations: spec.Annotations}
		if err := runHooks("startContainer", spec.Hooks.StartContainer, st.OCI()); err != nil {
			return err
		}
	}
	return fin.exec()
}

// setupConsole makes a pty in the container's devpts, sends the master to
// the console socket and makes the slave this process's controlling
// terminal and stdio. It returns the slave's path.
func setupConsole(cfg *initConfig) (string, error) {
	if cfg.ConsoleFd == 0 {
		return "", errors.New("terminal requested without a console socket")
	}
	master, slavePath, err := openPty()
	if err != nil {
		return "", err
	}
	defer master.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return "", fmt.Errorf("open pty slave %s: %w", slavePath, err)
	}
	defer slave.Close()
	if sz := cfg.Process.ConsoleSize; sz != nil && sz.Height > 0 && sz.Width > 0 {
		ws := &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)}
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
			return "", fmt.Errorf("set console size: %w", err)
		}
	}
	if err := sendFd(cfg.ConsoleFd, "/dev/ptmx", int(master.Fd())); err != nil {
		return "", fmt.Errorf("send pty master to console socket: %w", err)
	}
	unix.Close(cfg.ConsoleFd)
	for i := 0; i < 3; i++ {
		if err := unix.Dup3(int(slave.Fd()), i, 0); err != nil {
			return "", fmt.Errorf("dup pty slave: %w", err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return "", fmt.Errorf("set controlling terminal: %w", err)
	}
	return slavePath, nil
}

func setPersonality(p *specs.LinuxPersonality) error {
	var dom uintptr
	switch p.Domain {
	case specs.PerLinux:
		dom = 0x0000
	case specs.PerLinux32:
		dom = 0x0008
	default:
		return fmt.Errorf("personality domain %q is not supported", p.Domain)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, dom, 0, 0); errno != 0 {
		return fmt.Errorf("personality %s: %w", p.Domain, errno)
	}
	return nil
}

// finalProcess is a process ready for execve: credentials dropped, only the
// seccomp filter that must come last still to install.
type finalProcess struct {
	rlimits []specs.POSIXRlimit
	path    string
	args    []string
	env     []string
	seccomp *seccomp.Program
	nnp     bool
}

func (f *finalProcess) exec() error {
	// Last, so a small RLIMIT_AS or RLIMIT_NPROC limits the container's
	// process, not the Go runtime setting it up.
	if err := setRlimits(f.rlimits); err != nil {
		return err
	}
	if err := f.seccomp.InstallAt(seccomp.BeforeExec, f.nnp); err != nil {
		return fmt.Errorf("install seccomp filter: %w", err)
	}
	err := unix.Exec(f.path, f.args, f.env)
	return fmt.Errorf("exec %s: %w", f.path, err)
}

// prepareProcess does everything between a finished filesystem and execve
// that does not depend on `start`, in the order internal/runtime/seccomp
// documents: rlimits, fds, no_new_privs, an early seccomp filter (needs
// CAP_SYS_ADMIN when no_new_privs is off), user, working directory,
// capabilities, and the executable's lookup.
func prepareProcess(cfg *initConfig) (*finalProcess, error) {
	p := cfg.Process
	if p.IOPriority != nil {
		if err := setIOPriority(p.IOPriority); err != nil {
			return nil, err
		}
	}
	if p.Scheduler != nil {
		if err := setScheduler(p.Scheduler); err != nil {
			return nil, err
		}
	}
	// No descriptor of the runtime's may reach the container (CVE-2024-21626):
	// everything past stdio and the preserved fds is closed at execve.
	keep := 3 + cfg.PreserveFDs
	if err := closeExecFrom(keep); err != nil {
		return nil, err
	}
	env, err := withHome(p.Env, p.User.UID)
	if err != nil {
		return nil, err
	}
	fin := &finalProcess{args: p.Args, env: env, nnp: p.NoNewPrivileges, rlimits: p.Rlimits}
	if len(cfg.SeccompBPF) > 0 {
		fin.seccomp = &seccomp.Program{}
		if err := fin.seccomp.UnmarshalBinary(cfg.SeccompBPF); err != nil {
			return nil, fmt.Errorf("decode seccomp program: %w", err)
		}
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	if err := fin.seccomp.InstallAt(seccomp.BeforeCredentials, p.NoNewPrivileges); err != nil {
		return nil, fmt.Errorf("install seccomp filter: %w", err)
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := setupUser(p); err != nil {
		return nil, err
	}
	if err := unix.Chdir(cwd); err != nil {
		return nil, fmt.Errorf("chdir to cwd (%q) set in config.json failed: %w", cwd, err)
	}
	// A working directory reached through a leaked host fd would be outside
	// our root: getcwd says "(unreachable)" or fails for those.
	// (ENOENT is how Getwd reports it; a seccomp profile may refuse
	// getcwd itself, which says nothing about where we are.)
	if wd, err := unix.Getwd(); errors.Is(err, unix.ENOENT) || (err == nil && !strings.HasPrefix(wd, "/")) {
		return nil, fmt.Errorf("current working directory %q is outside of the container's root", cwd)
	}
	// Unknown capability names are skipped, as runc does. The warnings
	// are not printed: this process's stderr already belongs to the
	// container.
	if _, err := caps.Apply(p.Capabilities); err != nil {
		return nil, fmt.Errorf("apply capabilities: %w", err)
	}
	path, err := lookPath(p.Args[0], p.Env)
	if err != nil {
		return nil, err
	}
	fin.path = path
	return fin, nil
}

// setupUser switches to the process's uid, gid and supplementary groups,
// keeping the capabilities so caps.Apply can set them exactly afterwards.
func setupUser(p *specs.Process) error {
	u := p.User
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("keep capabilities: %w", err)
	}
	groups := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		groups[i] = int(g)
	}
	// setgroups is refused in a user namespace whose gid_map was written
	// with setgroups denied; an empty list is then the only possibility.
	if err := unix.Setgroups(groups); err != nil && !(len(groups) == 0 && errors.Is(err, unix.EPERM)) {
		return fmt.Errorf("setgroups %v: %w", groups, err)
	}
	if err := unix.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("setresgid %d: %w", u.GID, err)
	}
	if err := unix.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("setresuid %d: %w", u.UID, err)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear keep capabilities: %w", err)
	}
	if u.Umask != nil {
		unix.Umask(int(*u.Umask))
	} else {
		unix.Umask(0o022)
	}
	return nil
}

// lookPath resolves argv[0] against the container's PATH, so a missing
// binary fails `create`, not `start`.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("exec: %q: %w", name, err)
		}
		return name, nil
	}
	path := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: %w", name, exec.ErrNotFound)
}

// closeExecFrom marks every open descriptor >= from close-on-exec. They stay
// usable by this process (the Go runtime owns some) until execve.
func closeExecFrom(from int) error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < from {
			continue
		}
		unix.CloseOnExec(fd)
	}
	return nil
}

// loopbackUp brings up "lo" in a new network namespace, as runc does: a
// container without networking still talks to itself.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: set up: %w", err)
	}
	return nil
}

// withHome adds HOME from the container's /etc/passwd entry for uid when
// env has none ("/" without an entry), as runc and Docker do.
func withHome(env []string, uid uint32) ([]string, error) {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env, nil
		}
	}
	home := "/"
	users, err := user.ParsePasswdFileFilter("/etc/passwd", func(u user.User) bool { return u.Uid == int(uid) })
	if err == nil && len(users) > 0 && users[0].Home != "" {
		home = users[0].Home
	}
	return append(append([]string(nil), env...), "HOME="+home), nil
}

func mkdirInRoot(path string) error {
	root, err := os.OpenRoot("/")
	if err != nil {
		return err
	}
	defer root.Close()
	rel := strings.TrimLeft(filepath.Clean("/"+path), "/")
	if rel == "" {
		return nil
	}
	return root.MkdirAll(rel, 0o755)
}

func writeFile(path, data string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(data)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

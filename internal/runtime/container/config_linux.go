package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/runtime/caps"
	"github.com/berth-engine/berth/internal/runtime/nsexec"
	"github.com/berth-engine/berth/internal/runtime/seccomp"
	"github.com/berth-engine/berth/internal/runtime/specjson"
)

// initConfig is what the parent sends the init once the init is in its
// namespaces and cgroup.
type initConfig struct {
	Exec        bool           `json:"exec,omitempty"`
	ID          string         `json:"id"`
	Bundle      string         `json:"bundle"`
	Rootfs      string         `json:"rootfs"`
	Spec        *specs.Spec    `json:"spec,omitempty"`
	Process     *specs.Process `json:"process"`
	SeccompBPF  []byte         `json:"seccomp_bpf,omitempty"`
	NoPivot     bool           `json:"no_pivot,omitempty"`
	NoMountNS   bool           `json:"no_mountns,omitempty"`
	CgroupTasks []string       `json:"cgroup_tasks,omitempty"` // v1 tasks files the init's thread joins
	NewUserNS   bool           `json:"new_userns,omitempty"`
	NewNetNS    bool           `json:"new_netns,omitempty"`
	NewUTS      bool           `json:"new_uts,omitempty"`
	NewCgroupNS bool           `json:"new_cgroupns,omitempty"`
	CgroupNS    bool           `json:"cgroupns,omitempty"`
	HooksSync   bool           `json:"hooks_sync,omitempty"`
	FifoFd      int            `json:"fifo_fd,omitempty"`
	ConsoleFd   int            `json:"console_fd,omitempty"`
	PreserveFDs int            `json:"preserve_fds,omitempty"`
	Trace       bool           `json:"trace,omitempty"`
}

// nsTypes maps the spec's namespace names to the kernel's /proc/<pid>/ns
// names and clone flags.
var nsTypes = map[specs.LinuxNamespaceType]struct {
	proc string
	flag uintptr
}{
	specs.PIDNamespace:     {"pid", unix.CLONE_NEWPID},
	specs.NetworkNamespace: {"net", unix.CLONE_NEWNET},
	specs.MountNamespace:   {"mnt", unix.CLONE_NEWNS},
	specs.IPCNamespace:     {"ipc", unix.CLONE_NEWIPC},
	specs.UTSNamespace:     {"uts", unix.CLONE_NEWUTS},
	specs.UserNamespace:    {"user", unix.CLONE_NEWUSER},
	specs.CgroupNamespace:  {"cgroup", unix.CLONE_NEWCGROUP},
	specs.TimeNamespace:    {"time", unix.CLONE_NEWTIME},
}

// LoadSpec reads and checks bundle/config.json.
func LoadSpec(bundle string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("bundle %s: config.json not found", bundle)
		}
		return nil, fmt.Errorf("bundle %s: %w", bundle, err)
	}
	var s specs.Spec
	if err := specjson.UnmarshalSpec(data, &s); err != nil {
		return nil, fmt.Errorf("bundle %s: invalid config.json: %w", bundle, err)
	}
	return &s, nil
}

// namespacePlan is what the spec's namespaces mean for the C stage.
type namespacePlan struct {
	clone     uintptr // created in the C stage
	cgroupNew bool    // created by the Go init after the cgroup is joined
	join      []nsexec.Join
	has       map[specs.LinuxNamespaceType]bool
	newOf     map[specs.LinuxNamespaceType]bool
}

func planNamespaces(l *specs.Linux) (*namespacePlan, error) {
	p := &namespacePlan{has: map[specs.LinuxNamespaceType]bool{}, newOf: map[specs.LinuxNamespaceType]bool{}}
	if l == nil {
		return p, nil
	}
	for _, ns := range l.Namespaces {
		t, ok := nsTypes[ns.Type]
		if !ok {
			return nil, fmt.Errorf("namespace type %q is not supported", ns.Type)
		}
		if p.has[ns.Type] {
			return nil, fmt.Errorf("namespace type %q appears twice", ns.Type)
		}
		p.has[ns.Type] = true
		if ns.Path != "" {
			if !filepath.IsAbs(ns.Path) {
				return nil, fmt.Errorf("namespace %s: path %q must be absolute", ns.Type, ns.Path)
			}
			if err := checkNamespacePath(ns.Path, t.flag); err != nil {
				return nil, fmt.Errorf("namespace %s: %w", ns.Type, err)
			}
			p.join = append(p.join, nsexec.Join{Type: t.proc, Path: ns.Path})
			continue
		}
		p.newOf[ns.Type] = true
		if ns.Type == specs.CgroupNamespace {
			p.cgroupNew = true
			continue
		}
		p.clone |= t.flag
	}
	return p, nil
}

// checkNamespacePath makes sure path is a namespace file of the wanted kind,
// so a wrong path fails with a clear message before anything starts.
func checkNamespacePath(path string, flag uintptr) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	const nsGetNstype = 0xb703 // NS_GET_NSTYPE
	t, err := unix.IoctlRetInt(fd, nsGetNstype)
	if err != nil {
		return fmt.Errorf("%s is not a namespace file: %w", path, err)
	}
	if uintptr(t) != flag {
		return fmt.Errorf("%s is a namespace of another type", path)
	}
	return nil
}

// validateSpec rejects configs that cannot work, before any process starts.
func validateSpec(s *specs.Spec, rootfs string, plan *namespacePlan) error {
	if err := checkVersion(s.Version); err != nil {
		return err
	}
	if s.Process == nil {
		return errors.New("config.json: process is required")
	}
	if len(s.Process.Args) == 0 {
		return errors.New("config.json: process.args must not be empty")
	}
	if s.Root == nil || s.Root.Path == "" {
		return errors.New("config.json: root.path is required")
	}
	fi, err := os.Stat(rootfs)
	if err != nil {
		return fmt.Errorf("rootfs %s: %w", rootfs, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("rootfs %s: not a directory", rootfs)
	}
	if s.Linux == nil {
		return errors.New("config.json: linux section is required")
	}
	if !plan.has[specs.MountNamespace] && plan.has[specs.UserNamespace] {
		// The inherited mount namespace belongs to the parent user
		// namespace: every mount would fail with EPERM.
		return errors.New("config.json: a user namespace needs a mount namespace")
	}
	if plan.newOf[specs.UserNamespace] {
		if len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0 {
			return errors.New("config.json: a new user namespace needs uidMappings and gidMappings")
		}
	} else if !plan.has[specs.UserNamespace] && (len(s.Linux.UIDMappings) > 0 || len(s.Linux.GIDMappings) > 0) {
		return errors.New("config.json: uidMappings and gidMappings need a user namespace")
	}
	if s.Hostname != "" && !plan.has[specs.UTSNamespace] {
		return errors.New("config.json: hostname needs a private UTS namespace")
	}
	if s.Domainname != "" && !plan.has[specs.UTSNamespace] {
		return errors.New("config.json: domainname needs a private UTS namespace")
	}
	if len(s.Linux.TimeOffsets) > 0 && !plan.newOf[specs.TimeNamespace] {
		return errors.New("config.json: timeOffsets need a new time namespace")
	}
	for k := range s.Linux.Sysctl {
		if err := checkSysctl(k, plan); err != nil {
			return err
		}
	}
	if s.Process.Terminal && s.Process.ConsoleSize != nil && (s.Process.ConsoleSize.Height == 0) != (s.Process.ConsoleSize.Width == 0) {
		return errors.New("config.json: consoleSize needs both height and width")
	}
	if err := validateRlimits(s.Process.Rlimits); err != nil {
		return err
	}
	if err := caps.Validate(s.Process.Capabilities); err != nil {
		return fmt.Errorf("config.json: process.capabilities: %w", err)
	}
	return nil
}

// checkSysctl applies the kernel's namespacing: only sysctls that belong to
// a namespace the container owns may be set, as runc checks.
func checkSysctl(key string, plan *namespacePlan) error {
	if strings.ContainsAny(key, "/") && strings.Contains(key, "..") {
		return fmt.Errorf("sysctl %q: invalid name", key)
	}
	k := strings.ReplaceAll(key, "/", ".")
	switch {
	case k == "kernel.msgmax" || k == "kernel.msgmnb" || k == "kernel.msgmni" || k == "kernel.sem" ||
		k == "kernel.shmall" || k == "kernel.shmmax" || k == "kernel.shmmni" || k == "kernel.shm_rmid_forced" ||
		strings.HasPrefix(k, "fs.mqueue."):
		if !plan.has[specs.IPCNamespace] {
			return fmt.Errorf("sysctl %q is not allowed in the host's ipc namespace", key)
		}
	case strings.HasPrefix(k, "net."):
		if !plan.has[specs.NetworkNamespace] {
			return fmt.Errorf("sysctl %q is not allowed in the host's network namespace", key)
		}
	case k == "kernel.hostname" || k == "kernel.domainname":
		if !plan.has[specs.UTSNamespace] {
			return fmt.Errorf("sysctl %q is not allowed in the host's uts namespace", key)
		}
	default:
		return fmt.Errorf("sysctl %q is not in a separate kernel namespace", key)
	}
	return nil
}

// compileSeccomp turns the spec's filter into BPF once per distinct profile:
// libseccomp needs ~20 ms for Docker's default profile, a cache hit ~50 µs.
// The init then only installs the program. It also validates the profile,
// so a bad one fails create before any process starts.
func (r *Runtime) compileSeccomp(cfg *specs.LinuxSeccomp) ([]byte, error) {
	if cfg == nil {
		return nil, nil
	}
	dir := filepath.Join(r.root, ".seccomp-cache")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	prog, err := seccomp.CompileCached(dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("config.json: seccomp: %w", err)
	}
	return prog.MarshalBinary()
}

// checkVersion accepts the runtime spec versions this runtime implements:
// 1.x.y (1.0.0 up to the version of the spec module, and newer minors,
// whose additions are optional fields).
func checkVersion(v string) error {
	var major, minor, patch int
	rest := ""
	if n, _ := fmt.Sscanf(v, "%d.%d.%d%s", &major, &minor, &patch, &rest); n < 3 || major != 1 || (rest != "" && !strings.HasPrefix(rest, "-") && !strings.HasPrefix(rest, "+")) {
		return fmt.Errorf("config.json: unsupported ociVersion %q (want 1.x.y)", v)
	}
	return nil
}

//go:build linux

package oci

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/container"
)

// InitPathInContainer is where --init's binary is mounted, docker's path
// for docker-init, so that tools looking for it there find it.
const InitPathInContainer = "/sbin/docker-init"

// DefaultPath is the PATH a container gets when its Env has none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// SpecOpts are the inputs to Spec that are not in the container record.
type SpecOpts struct {
	// RootfsPath is the container's root filesystem (the mounted overlay).
	// /etc/passwd and /etc/group are read under it to resolve User and
	// GroupAdd names.
	RootfsPath string
	// Host is the machine's facts; nil means DetectHost().
	Host *Host
	// ResolveContainer gives the init pid of another container named in
	// a "container:<id>" namespace mode; that container must be running.
	ResolveContainer func(idOrName string) (pid int, err error)
	// ShmPath, when set, is a host directory (a tmpfs the daemon mounted
	// with the container's ShmSize) bind-mounted on /dev/shm, so that
	// containers with IpcMode "container:<this>" can share it. Empty means
	// a private tmpfs of ShmSize.
	ShmPath string
	// ResolveShm gives the ShmPath of another container named in IpcMode
	// "container:<id>"; without it that /dev/shm is not shared (a warning).
	ResolveShm func(idOrName string) (hostPath string, err error)
	// InitPath is the host path of the init binary run as PID 1 when
	// HostConfig.Init is set (or DefaultInit and Init is unset): it is
	// bind-mounted read-only at InitPathInContainer, which becomes the
	// process's first argument, followed by "--" and the command, as
	// dockerd does with docker-init.
	InitPath string
	// DefaultInit is the daemon's "init" setting, for containers whose
	// HostConfig.Init is nil.
	DefaultInit bool
	// ResolvConfPath, HostnamePath, HostsPath are bind-mounted over
	// /etc/resolv.conf, /etc/hostname, /etc/hosts when set.
	// NetnsPath, when set, is the network namespace the container joins
	// (made by the daemon for bridge networking); else a network mode
	// naming a network gets a new, empty namespace (create's probe).
	NetnsPath                               string
	ResolvConfPath, HostnamePath, HostsPath string
	// DefaultUlimits are the daemon's default-ulimits; nil means berth's
	// default (nofile 1048576:1048576, as containers get under dockerd).
	// Each is clamped to the host's hard limit, with a warning.
	DefaultUlimits []*ctypes.Ulimit
	// Warn receives a message for each setting that was adjusted or
	// dropped (docker returns these as create warnings). May be nil.
	Warn func(msg string)
}

func (o *SpecOpts) warnf(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// CgroupsPath is where berth puts a container's cgroup.
func CgroupsPath(c *container.Container) string {
	parent := "/berth"
	if p := c.HostConfig.CgroupParent; p != "" {
		parent = "/" + strings.Trim(p, "/")
	}
	return parent + "/" + c.ID
}

// Spec builds the OCI runtime spec for c. The caller holds c's lock.
// Errors are classed container.ErrInvalidParameter for values the user
// can fix, ErrConflict for a "container:" mode naming a stopped container
// (as ResolveContainer classes it), and unclassed for host failures.
func Spec(ctx context.Context, c *container.Container, opts SpecOpts) (*specs.Spec, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c == nil || c.Config == nil || c.HostConfig == nil {
		return nil, errors.New("oci: container record has no Config or HostConfig")
	}
	host := opts.Host
	if host == nil {
		h, err := DetectHost()
		if err != nil {
			return nil, fmt.Errorf("oci: reading host facts: %w", err)
		}
		host = h
	}
	cfg, hc := c.Config, c.HostConfig
	if p := hc.CgroupParent; p != "" && (strings.ContainsRune(p, 0) || slices.Contains(strings.Split(p, "/"), "..")) {
		return nil, invalidf("invalid cgroup parent %q", p)
	}
	s := &specs.Spec{
		Version:    specs.Version,
		Root:       &specs.Root{Path: opts.RootfsPath, Readonly: hc.ReadonlyRootfs},
		Hostname:   cfg.Hostname,
		Domainname: cfg.Domainname,
		Process: &specs.Process{
			Terminal: cfg.Tty,
			Cwd:      "/",
		},
		Linux: &specs.Linux{
			CgroupsPath: CgroupsPath(c),
			Resources:   &specs.LinuxResources{},
			Sysctl:      map[string]string{},
		},
		Annotations: maps.Clone(hc.Annotations),
	}
	if s.Hostname == "" {
		s.Hostname = container.ShortID(c.ID)
	}
	if cfg.WorkingDir != "" {
		if !strings.HasPrefix(cfg.WorkingDir, "/") {
			return nil, invalidf("the working directory '%s' is invalid, it needs to be an absolute path", cfg.WorkingDir)
		}
		s.Process.Cwd = cfg.WorkingDir
	}
	if cfg.Tty && (hc.ConsoleSize[0] > 0 || hc.ConsoleSize[1] > 0) {
		s.Process.ConsoleSize = &specs.Box{Height: hc.ConsoleSize[0], Width: hc.ConsoleSize[1]}
	}
	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(args) == 0 {
		return nil, invalidf("no command specified")
	}
	useInit := (hc.Init != nil && *hc.Init) || (hc.Init == nil && opts.DefaultInit)
	if useInit {
		if opts.InitPath == "" {
			return nil, errors.New("oci: Init requested but the daemon has no init binary")
		}
		args = append([]string{InitPathInContainer, "--"}, args...)
	}
	s.Process.Args = args
	if hc.Umask != nil {
		u := *hc.Umask
		s.Process.User.Umask = &u
	}

	b := &builder{s: s, c: c, hc: hc, opts: &opts, host: host}
	steps := []func() error{
		b.namespaces,
		b.user,
		b.env,
		b.mounts,
		b.devices,
		b.resources,
		b.rlimits,
		b.sysctls,
		b.security, // last: seccomp depends on the capabilities
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if useInit {
		s.Mounts = append(s.Mounts, b.bindMount(opts.InitPath, InitPathInContainer, true, "", true))
	}
	if hc.OomScoreAdj != 0 {
		if hc.OomScoreAdj < -1000 || hc.OomScoreAdj > 1000 {
			return nil, invalidf("Invalid value %d, range for oom score adj is [-1000, 1000]", hc.OomScoreAdj)
		}
		v := hc.OomScoreAdj
		s.Process.OOMScoreAdj = &v
	}
	return s, nil
}

// builder carries one Spec call's inputs through its steps.
type builder struct {
	s    *specs.Spec
	c    *container.Container
	hc   *ctypes.HostConfig
	opts *SpecOpts
	host *Host
	home string // from /etc/passwd, for HOME

	ipcHost, ipcNone, netHost bool
	ipcContainer              string // the container whose IPC namespace is joined
}

func (b *builder) env() error {
	cfg := b.c.Config
	env := []string{}
	has := func(k string) bool {
		for _, e := range cfg.Env {
			if strings.HasPrefix(e, k+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		env = append(env, "PATH="+DefaultPath)
	}
	if b.s.Hostname != "" && !has("HOSTNAME") {
		env = append(env, "HOSTNAME="+b.s.Hostname)
	}
	if cfg.Tty && !has("TERM") {
		env = append(env, "TERM=xterm")
	}
	for _, e := range cfg.Env {
		if e == "" || strings.HasPrefix(e, "=") {
			return invalidf("invalid environment variable: %s", e)
		}
		if !strings.Contains(e, "=") {
			// "NAME" alone: the client resolves it from its own
			// environment; one that reaches the daemon is dropped.
			continue
		}
		env = append(env, e)
	}
	if !has("HOME") {
		home := b.home
		if home == "" {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}
	b.s.Process.Env = env
	return nil
}

package container

import (
	"bufio"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/strslice"
	"github.com/spf13/pflag"
)

// createOptions are the flags create and run share.
type createOptions struct {
	name        string
	env         []string
	envFiles    []string
	workdir     string
	user        string
	entrypoint  string
	memory      string
	cpus        string
	pidsLimit   int64
	capAdd      []string
	capDrop     []string
	privileged  bool
	readOnly    bool
	tmpfs       []string
	volumes     []string
	volumesFrom []string
	network     string
	restart     string
	labels      []string
	rm          bool
	stopSignal  string
	stopTime    int
	init        bool
	hostname    string

	// terminal and streams
	interactive bool
	tty         bool
	attach      attachOpt

	// healthcheck
	healthCmd           string
	healthInterval      time.Duration
	healthTimeout       time.Duration
	healthStartPeriod   time.Duration
	healthStartInterval time.Duration
	healthRetries       int
	noHealthcheck       bool

	// resources
	cpuShares         int64
	cpuPeriod         int64
	cpuQuota          int64
	cpusetCpus        string
	cpusetMems        string
	memorySwap        memSwapBytes
	memoryReservation memBytes
	oomKillDisable    bool
	oomScoreAdj       int
	ulimits           ulimitOpt
	devices           []string
	blkioWeight       uint16
	cgroupParent      string

	// namespaces and security
	sysctls     mapOpt
	groupAdd    []string
	cgroupns    string
	pid         string
	ipc         string
	uts         string
	shmSize     memBytes
	securityOpt []string

	mounts      mountOpt
	domainname  string
	platform    string
	logDriver   string
	logOpts     []string
	annotations mapOpt
	expose      []string
	userns      string
	swappiness  int64
	runtime     string
	labelFiles  []string
	cidFile     string

	net netOptions // opts_network.go
}

func addCreateFlags(f *pflag.FlagSet, o *createOptions) {
	f.SetInterspersed(false)
	f.StringVar(&o.name, "name", "", "Assign a name to the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringArrayVar(&o.envFiles, "env-file", nil, "Read in a file of environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	f.StringVarP(&o.memory, "memory", "m", "", "Memory limit")
	f.StringVar(&o.cpus, "cpus", "", "Number of CPUs")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.StringArrayVar(&o.capAdd, "cap-add", nil, "Add Linux capabilities")
	f.StringArrayVar(&o.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to this container")
	f.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	f.StringArrayVar(&o.tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a volume")
	f.StringArrayVar(&o.volumesFrom, "volumes-from", nil, "Mount volumes from the specified container(s)")
	f.StringVar(&o.network, "network", "", "Connect a container to a network")
	f.StringVar(&o.network, "net", "", "Connect a container to a network")
	_ = f.MarkHidden("net")
	f.StringVar(&o.restart, "restart", "no", "Restart policy to apply when a container exits")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "Set meta data on a container")
	f.BoolVar(&o.rm, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	f.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	f.IntVar(&o.stopTime, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	f.BoolVar(&o.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	// -h is --hostname, as in docker: help is --help only.
	f.Bool("help", false, "Print usage")
	f.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")

	f.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.VarP(&o.attach, "attach", "a", "Attach to STDIN, STDOUT or STDERR")

	f.StringVar(&o.healthCmd, "health-cmd", "", "Command to run to check health")
	f.DurationVar(&o.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	f.IntVar(&o.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	f.DurationVar(&o.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	f.DurationVar(&o.healthStartPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	f.DurationVar(&o.healthStartInterval, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 0s)")
	f.BoolVar(&o.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")

	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Int64Var(&o.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	f.Int64Var(&o.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.StringVar(&o.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	f.Var(&o.memorySwap, "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	f.Var(&o.memoryReservation, "memory-reservation", "Memory soft limit")
	f.BoolVar(&o.oomKillDisable, "oom-kill-disable", false, "Disable OOM Killer")
	f.IntVar(&o.oomScoreAdj, "oom-score-adj", 0, "Tune host's OOM preferences (-1000 to 1000)")
	f.Var(&o.ulimits, "ulimit", "Ulimit options")
	f.StringArrayVar(&o.devices, "device", nil, "Add a host device to the container")
	f.Uint16Var(&o.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)")
	f.StringVar(&o.cgroupParent, "cgroup-parent", "", "Optional parent cgroup for the container")

	o.sysctls.validate = validateSysctl
	f.Var(&o.sysctls, "sysctl", "Sysctl options")
	f.StringArrayVar(&o.groupAdd, "group-add", nil, "Add additional groups to join")
	f.StringVar(&o.cgroupns, "cgroupns", "", `Cgroup namespace to use (host|private)
'host':    Run the container in the host's cgroup namespace
'private': Run the container in its own private cgroup namespace
'':        Use the cgroup namespace as configured by the
           default-cgroupns-mode option on the daemon (default)`)
	f.StringVar(&o.pid, "pid", "", "PID namespace to use")
	f.StringVar(&o.ipc, "ipc", "", "IPC mode to use")
	f.StringVar(&o.uts, "uts", "", "UTS namespace to use")
	f.Var(&o.shmSize, "shm-size", "Size of /dev/shm")
	f.StringArrayVar(&o.securityOpt, "security-opt", nil, "Security Options")

	f.Var(&o.mounts, "mount", "Attach a filesystem mount to the container")
	f.StringVar(&o.domainname, "domainname", "", "Container NIS domain name")
	f.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable")
	f.StringVar(&o.logDriver, "log-driver", "", "Logging driver for the container")
	f.StringArrayVar(&o.logOpts, "log-opt", nil, "Log driver options")
	f.Var(&o.annotations, "annotation", "Add an annotation to the container (passed through to the OCI runtime)")
	f.StringArrayVar(&o.expose, "expose", nil, "Expose a port or a range of ports")
	f.StringVar(&o.userns, "userns", "", "User namespace to use")
	f.Int64Var(&o.swappiness, "memory-swappiness", -1, "Tune container memory swappiness (0 to 100)")
	f.StringVar(&o.runtime, "runtime", "", "Runtime to use for this container")
	f.StringArrayVar(&o.labelFiles, "label-file", nil, "Read in a line delimited file of labels")
	f.StringVar(&o.cidFile, "cidfile", "", "Write the container ID to the file")
	addNetworkFlags(f, &o.net)
}

// flagError is a bad flag value: docker exits 125 with the reason.
type flagError struct{ msg string }

func (e flagError) Error() string { return e.msg }

// parse turns the flags and the positional image/command into the create
// request's Config and HostConfig.
func (o *createOptions) parse(f *pflag.FlagSet, args []string) (*container.Config, *container.HostConfig, error) {
	cfg := &container.Config{
		Image:      args[0],
		WorkingDir: o.workdir,
		User:       o.user,
		Hostname:   o.hostname,
		Domainname: o.domainname,
		StopSignal: o.stopSignal,
		Tty:        o.tty,
		OpenStdin:  o.interactive,
		// Without -a the output streams are attached; -i attaches stdin.
		AttachStdin:  o.interactive || o.attach.has("stdin"),
		AttachStdout: len(o.attach) == 0 || o.attach.has("stdout"),
		AttachStderr: len(o.attach) == 0 || o.attach.has("stderr"),
	}
	// An attached stdin is closed when that client goes away.
	cfg.StdinOnce = cfg.OpenStdin && cfg.AttachStdin
	hcfg, err := o.healthcheck()
	if err != nil {
		return nil, nil, err
	}
	cfg.Healthcheck = hcfg
	if cfg.ExposedPorts, err = parseExpose(o.expose); err != nil {
		return nil, nil, err
	}
	if len(args) > 1 {
		cfg.Cmd = strslice.StrSlice(args[1:])
	}
	if f.Changed("entrypoint") {
		if o.entrypoint == "" {
			cfg.Entrypoint = strslice.StrSlice{""}
		} else {
			cfg.Entrypoint = strslice.StrSlice{o.entrypoint}
		}
	}
	if f.Changed("stop-timeout") {
		t := o.stopTime
		cfg.StopTimeout = &t
	}
	var env []string
	for _, path := range o.envFiles {
		lines, err := readEnvFile(path)
		if err != nil {
			return nil, nil, err
		}
		env = append(env, lines...)
	}
	for _, e := range o.env {
		env = append(env, expandEnv(e)...)
	}
	cfg.Env = env
	labels, err := readLabelFiles(o.labelFiles)
	if err != nil {
		return nil, nil, err
	}
	labels = append(labels, o.labels...)
	if len(labels) > 0 {
		cfg.Labels = map[string]string{}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			cfg.Labels[k] = v
		}
	}

	hc := &container.HostConfig{
		AutoRemove:     o.rm,
		CapAdd:         o.capAdd,
		CapDrop:        o.capDrop,
		Privileged:     o.privileged,
		ReadonlyRootfs: o.readOnly,
		Binds:          o.volumes,
	}
	if o.init {
		t := true
		hc.Init = &t
	}
	if err := o.parseHost(f, hc); err != nil {
		return nil, nil, err
	}
	if o.memory != "" {
		n, err := units.RAMInBytes(o.memory)
		if err != nil {
			return nil, nil, flagError{fmt.Sprintf("invalid argument %q for \"-m, --memory\" flag: %v", o.memory, err)}
		}
		hc.Memory = n
	}
	if o.cpus != "" {
		r, ok := new(big.Rat).SetString(o.cpus)
		if !ok {
			return nil, nil, flagError{fmt.Sprintf("invalid argument %q for \"--cpus\" flag: failed to parse %s as a rational number", o.cpus, o.cpus)}
		}
		nano := r.Mul(r, big.NewRat(1e9, 1))
		if !nano.IsInt() {
			return nil, nil, flagError{fmt.Sprintf("invalid argument %q for \"--cpus\" flag: value is too precise", o.cpus)}
		}
		hc.NanoCPUs = nano.Num().Int64()
	}
	if f.Changed("pids-limit") {
		p := o.pidsLimit
		hc.PidsLimit = &p
	}
	if len(o.tmpfs) > 0 {
		hc.Tmpfs = map[string]string{}
		for _, t := range o.tmpfs {
			path, opt, _ := strings.Cut(t, ":")
			hc.Tmpfs[path] = opt
		}
	}
	// -v: "/path" alone is an anonymous volume (Config.Volumes), a source
	// that starts with "." a host path relative to here, anything else
	// goes to the daemon as given (a host path or a volume name).
	hc.Binds = nil
	for _, v := range o.volumes {
		src, rest, ok := strings.Cut(v, ":")
		if !ok {
			if !strings.HasPrefix(v, "/") {
				return nil, nil, flagError{fmt.Sprintf("invalid argument %q for \"-v, --volume\" flag: invalid mount config: destination %q is not an absolute path", v, v)}
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[v] = struct{}{}
			continue
		}
		if strings.HasPrefix(src, ".") {
			abs, err := filepath.Abs(src)
			if err != nil {
				return nil, nil, err
			}
			v = abs + ":" + rest
		}
		hc.Binds = append(hc.Binds, v)
	}
	hc.VolumesFrom = o.volumesFrom
	if o.network != "" {
		hc.NetworkMode = container.NetworkMode(o.network)
	}
	if err := o.net.apply(cfg, hc); err != nil {
		return nil, nil, err
	}
	rp, err := parseRestart(o.restart)
	if err != nil {
		return nil, nil, err
	}
	hc.RestartPolicy = rp
	if o.rm && !rp.IsNone() {
		return nil, nil, errors.New("conflicting options: cannot specify both --restart and --rm")
	}
	return cfg, hc, nil
}

func parseRestart(s string) (container.RestartPolicy, error) {
	if s == "" {
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}, nil
	}
	name, count, hasCount := strings.Cut(s, ":")
	p := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	switch p.Name {
	case container.RestartPolicyDisabled, container.RestartPolicyAlways, container.RestartPolicyUnlessStopped, container.RestartPolicyOnFailure:
	default:
		return p, fmt.Errorf("invalid restart policy format: unknown policy %q; use one of 'no', 'always', 'on-failure' or 'unless-stopped'", name)
	}
	if hasCount {
		if p.Name != container.RestartPolicyOnFailure {
			return p, fmt.Errorf("invalid restart policy format: maximum retry count can only be used with 'on-failure'")
		}
		n, err := strconv.Atoi(count)
		if err != nil {
			return p, fmt.Errorf("invalid restart policy format: maximum retry count must be an integer: %v", err)
		}
		p.MaximumRetryCount = n
	}
	return p, nil
}

// expandEnv turns "NAME" (no value) into NAME=<the CLI's value>, as docker
// does; a name unset here is dropped.
func expandEnv(e string) []string {
	if strings.Contains(e, "=") {
		return []string{e}
	}
	if v, ok := os.LookupEnv(e); ok {
		return []string{e + "=" + v}
	}
	return nil
}

func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "=")
		if strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("variable '%s' contains whitespaces", name)
		}
		out = append(out, expandEnv(line)...)
	}
	return out, sc.Err()
}

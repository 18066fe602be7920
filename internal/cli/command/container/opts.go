package container

import (
	"bufio"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/strslice"
	"github.com/spf13/pflag"
)

// createOptions are the flags create and run share.
type createOptions struct {
	name       string
	env        []string
	envFiles   []string
	workdir    string
	user       string
	entrypoint string
	memory     string
	cpus       string
	pidsLimit  int64
	capAdd     []string
	capDrop    []string
	privileged bool
	readOnly   bool
	tmpfs      []string
	volumes    []string
	network    string
	restart    string
	labels     []string
	rm         bool
	stopSignal string
	stopTime   int
	init       bool
	hostname   string
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
	f.StringVar(&o.network, "network", "", "Connect a container to a network (none or host)")
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
		StopSignal: o.stopSignal,
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
	if len(o.labels) > 0 {
		cfg.Labels = map[string]string{}
		for _, l := range o.labels {
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
	for _, v := range o.volumes {
		if !strings.HasPrefix(v, "/") {
			return nil, nil, flagError{fmt.Sprintf("invalid argument %q for \"-v, --volume\" flag: only bind mounts of absolute host paths are supported", v)}
		}
	}
	if o.network != "" {
		hc.NetworkMode = container.NetworkMode(o.network)
	}
	rp, err := parseRestart(o.restart)
	if err != nil {
		return nil, nil, err
	}
	hc.RestartPolicy = rp
	if o.rm && !rp.IsNone() {
		return nil, nil, flagError{"Conflicting options: --restart and --rm"}
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
		return p, flagError{fmt.Sprintf("invalid restart policy format: unknown policy %q; use one of 'no', 'always', 'on-failure' or 'unless-stopped'", name)}
	}
	if hasCount {
		if p.Name != container.RestartPolicyOnFailure {
			return p, flagError{fmt.Sprintf("invalid restart policy format: maximum retry count can only be used with 'on-failure'")}
		}
		n, err := strconv.Atoi(count)
		if err != nil {
			return p, flagError{fmt.Sprintf("invalid restart policy format: maximum retry count must be an integer: %v", err)}
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

package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/pflag"
)

// healthcheck is the Config.Healthcheck the --health-* flags ask for: nil
// keeps the image's, Test ["NONE"] disables it.
func (o *createOptions) healthcheck() (*container.HealthConfig, error) {
	set := o.healthCmd != "" || o.healthInterval != 0 || o.healthTimeout != 0 ||
		o.healthStartPeriod != 0 || o.healthStartInterval != 0 || o.healthRetries != 0
	if o.noHealthcheck {
		if set {
			return nil, errors.New("--no-healthcheck conflicts with --health-* options")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !set {
		return nil, nil
	}
	for _, d := range []struct {
		name string
		neg  bool
	}{
		{"--health-interval", o.healthInterval < 0},
		{"--health-timeout", o.healthTimeout < 0},
		{"--health-retries", o.healthRetries < 0},
		{"--health-start-period", o.healthStartPeriod < 0},
		{"--health-start-interval", o.healthStartInterval < 0},
	} {
		if d.neg {
			return nil, errors.New(d.name + " cannot be negative")
		}
	}
	h := &container.HealthConfig{
		Interval:      o.healthInterval,
		Timeout:       o.healthTimeout,
		StartPeriod:   o.healthStartPeriod,
		StartInterval: o.healthStartInterval,
		Retries:       o.healthRetries,
	}
	if o.healthCmd != "" {
		h.Test = []string{"CMD-SHELL", o.healthCmd}
	}
	return h, nil
}

// parseHost fills the HostConfig fields of the resource, namespace,
// security, mount and logging flags.
func (o *createOptions) parseHost(f *pflag.FlagSet, hc *container.HostConfig) error {
	r := &hc.Resources
	r.CPUShares = o.cpuShares
	r.CPUPeriod = o.cpuPeriod
	r.CPUQuota = o.cpuQuota
	r.CpusetCpus = o.cpusetCpus
	r.CpusetMems = o.cpusetMems
	r.MemorySwap = int64(o.memorySwap)
	r.MemoryReservation = int64(o.memoryReservation)
	r.BlkioWeight = o.blkioWeight
	r.CgroupParent = o.cgroupParent
	r.Ulimits = o.ulimits
	if f.Changed("oom-kill-disable") {
		b := o.oomKillDisable
		r.OomKillDisable = &b
	}
	for _, d := range o.devices {
		m, err := parseDevice(d)
		if err != nil {
			return err
		}
		r.Devices = append(r.Devices, m)
	}

	hc.OomScoreAdj = o.oomScoreAdj
	hc.Sysctls = o.sysctls.values
	hc.Annotations = o.annotations.values
	hc.GroupAdd = o.groupAdd
	hc.ShmSize = int64(o.shmSize)
	hc.Mounts = o.mounts

	hc.CgroupnsMode = container.CgroupnsMode(o.cgroupns)
	if !hc.CgroupnsMode.Valid() {
		return errors.New("--cgroupns: invalid CGROUP mode")
	}
	hc.PidMode = container.PidMode(o.pid)
	if !hc.PidMode.Valid() {
		return errors.New("--pid: invalid PID mode")
	}
	hc.UTSMode = container.UTSMode(o.uts)
	if !hc.UTSMode.Valid() {
		return errors.New("--uts: invalid UTS mode")
	}
	hc.UsernsMode = container.UsernsMode(o.userns)
	if !hc.UsernsMode.Valid() {
		return errors.New("--userns: invalid USER mode")
	}
	if o.swappiness != -1 {
		if o.swappiness < 0 || o.swappiness > 100 {
			return fmt.Errorf("invalid value: %d. Valid memory swappiness range is 0-100", o.swappiness)
		}
		sw := o.swappiness
		r.MemorySwappiness = &sw
	}
	hc.Runtime = o.runtime
	hc.ContainerIDFile = o.cidFile
	// The IPC mode is checked by the daemon, which knows the containers
	// a "container:" mode may name.
	hc.IpcMode = container.IpcMode(o.ipc)

	secOpts, err := parseSecurityOpts(o.securityOpt)
	if err != nil {
		return err
	}
	for _, opt := range secOpts {
		// Unconfined system paths are asked for with empty lists, not sent
		// as an option.
		if opt == "systempaths=unconfined" {
			hc.MaskedPaths, hc.ReadonlyPaths = []string{}, []string{}
			continue
		}
		hc.SecurityOpt = append(hc.SecurityOpt, opt)
	}

	if o.logDriver == "none" && len(o.logOpts) > 0 {
		return errors.New("invalid logging opts for driver none")
	}
	hc.LogConfig.Type = o.logDriver
	if len(o.logOpts) > 0 {
		hc.LogConfig.Config = map[string]string{}
		for _, kv := range o.logOpts {
			k, v, _ := strings.Cut(kv, "=")
			hc.LogConfig.Config[k] = v
		}
	}
	return nil
}

// parseSecurityOpts checks --security-opt values: every one but
// no-new-privileges needs a value (after = or :), and a seccomp profile
// that names a file is sent as its compacted JSON.
func parseSecurityOpts(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, opt := range in {
		k, v, ok := strings.Cut(opt, "=")
		if !ok && k != "no-new-privileges" {
			k, v, ok = strings.Cut(opt, ":")
		}
		if (!ok || v == "") && k != "no-new-privileges" {
			return nil, fmt.Errorf("Invalid --security-opt: %q", opt)
		}
		if k == "seccomp" && v != "builtin" && v != "unconfined" {
			data, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("opening seccomp profile (%s) failed: %v", v, err)
			}
			var b bytes.Buffer
			if err := json.Compact(&b, data); err != nil {
				return nil, fmt.Errorf("compacting json for seccomp profile (%s) failed: %v", v, err)
			}
			opt = "seccomp=" + b.String()
		}
		out = append(out, opt)
	}
	return out, nil
}

// parseDevice reads --device HOST[:CONTAINER][:PERMISSIONS] with docker's
// checks: at most three parts, a known r/w/m mode, an absolute path in the
// container.
func parseDevice(spec string) (container.DeviceMapping, error) {
	if strings.Count(spec, ":") > 2 {
		return container.DeviceMapping{}, fmt.Errorf("bad format for path: %s", spec)
	}
	parts := strings.Split(spec, ":")
	if parts[0] == "" {
		return container.DeviceMapping{}, fmt.Errorf("bad format for path: %s", spec)
	}
	m := container.DeviceMapping{PathOnHost: parts[0], PathInContainer: parts[0], CgroupPermissions: "rwm"}
	switch len(parts) {
	case 2:
		if validDeviceMode(parts[1]) {
			m.CgroupPermissions = parts[1]
		} else {
			m.PathInContainer = parts[1]
		}
	case 3:
		if !validDeviceMode(parts[2]) {
			return container.DeviceMapping{}, fmt.Errorf("bad mode specified: %s", parts[2])
		}
		m.PathInContainer, m.CgroupPermissions = parts[1], parts[2]
	}
	if !path.IsAbs(m.PathInContainer) {
		return container.DeviceMapping{}, fmt.Errorf("%s is not an absolute path", m.PathInContainer)
	}
	m.PathInContainer = path.Clean(m.PathInContainer)
	return m, nil
}

// validDeviceMode is a non-empty mix of r, w and m, each at most once.
func validDeviceMode(mode string) bool {
	if mode == "" {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range mode {
		if (c != 'r' && c != 'w' && c != 'm') || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// parsePlatform reads --platform os[/arch[/variant]]; nil when unset.
func parsePlatform(s string) (*ocispec.Platform, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) > 3 || parts[0] == "" {
		return nil, fmt.Errorf("%q: unknown operating system or architecture: invalid argument", s)
	}
	p := &ocispec.Platform{OS: parts[0]}
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p, nil
}

// parseExpose reads --expose PORT[-PORT][/PROTO] into the exposed ports;
// publishing (-p) belongs to networking.
func parseExpose(list []string) (network.PortSet, error) {
	if len(list) == 0 {
		return nil, nil
	}
	ports := network.PortSet{}
	for _, e := range list {
		if strings.Contains(e, ":") {
			return nil, fmt.Errorf("invalid port format for --expose: %s", e)
		}
		spec, proto, _ := strings.Cut(e, "/")
		if proto == "" {
			proto = "tcp"
		}
		first, last, isRange := strings.Cut(spec, "-")
		start, err := strconv.ParseUint(first, 10, 16)
		end := start
		if err == nil && isRange {
			end, err = strconv.ParseUint(last, 10, 16)
		}
		if err == nil && end < start {
			err = fmt.Errorf("invalid range specified for port: %s", spec)
		}
		if err != nil {
			return nil, fmt.Errorf("invalid range format for --expose: %s, error: %s", e, err)
		}
		for n := start; n <= end; n++ {
			p, ok := network.PortFrom(uint16(n), network.IPProtocol(proto))
			if !ok {
				return nil, fmt.Errorf("invalid port format for --expose: %s", e)
			}
			ports[p] = struct{}{}
		}
	}
	return ports, nil
}

// readLabelFiles reads --label-file files: one label a line, blank lines
// and # comments skipped.
func readLabelFiles(paths []string) ([]string, error) {
	var out []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			out = append(out, line)
		}
	}
	return out, nil
}

// cidFile is --cidfile: the file must not exist yet; it is made before the
// create and gets the ID after it, or is removed when the create fails.
type cidFile struct {
	path string
	f    *os.File
}

func newCIDFile(path string) (*cidFile, error) {
	if path == "" {
		return &cidFile{}, nil
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("container ID file found, make sure the other container isn't running or delete %s", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to create the container ID file: %w", err)
	}
	return &cidFile{path: path, f: f}, nil
}

// finish writes id, or removes the file when id is empty (no container).
func (c *cidFile) finish(id string) error {
	if c.f == nil {
		return nil
	}
	defer c.f.Close()
	if id == "" {
		return os.Remove(c.path)
	}
	if _, err := c.f.WriteString(id); err != nil {
		return fmt.Errorf("failed to write the container ID to the file: %w", err)
	}
	return nil
}

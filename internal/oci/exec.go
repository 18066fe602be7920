//go:build linux

package oci

import (
	"encoding/json"
	"fmt"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/container"
)

// ExecProcess derives an exec's process from the container's own (base,
// as its spec has it), the way dockerd does: the exec's Cmd, its Env over
// the container's, its WorkingDir and User (resolved in the container's
// rootfs at rootfsPath) when given, a terminal when Tty; Privileged gives
// every capability of the host's bounding set. The container's rlimits,
// no_new_privs and the rest are kept.
func ExecProcess(base *specs.Process, rootfsPath string, req *ctypes.ExecCreateRequest, host *Host) (*specs.Process, error) {
	if base == nil {
		return nil, fmt.Errorf("oci: the container's spec has no process")
	}
	if len(req.Cmd) == 0 {
		return nil, invalidf("No exec command specified")
	}
	// A deep copy: the base is the container's spec.
	data, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	var p specs.Process
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	p.Args = append([]string(nil), req.Cmd...)
	p.Terminal = req.Tty
	p.ConsoleSize = nil
	if req.Tty && req.ConsoleSize != nil && (req.ConsoleSize[0] > 0 || req.ConsoleSize[1] > 0) {
		p.ConsoleSize = &specs.Box{Height: req.ConsoleSize[0], Width: req.ConsoleSize[1]}
	}
	p.Env = mergeEnv(p.Env, req.Env)
	if req.WorkingDir != "" {
		if !strings.HasPrefix(req.WorkingDir, "/") {
			return nil, invalidf("the working directory '%s' is invalid, it needs to be an absolute path", req.WorkingDir)
		}
		p.Cwd = req.WorkingDir
	}
	if req.User != "" {
		passwd, err := securejoin.SecureJoin(rootfsPath, "/etc/passwd")
		if err != nil {
			return nil, err
		}
		group, err := securejoin.SecureJoin(rootfsPath, "/etc/group")
		if err != nil {
			return nil, err
		}
		eu, err := user.GetExecUserPath(req.User, &user.ExecUser{Home: "/"}, passwd, group)
		if err != nil {
			return nil, invalidf("unable to find user %s: %v", req.User, err)
		}
		p.User.UID, p.User.GID = uint32(eu.Uid), uint32(eu.Gid)
		p.User.AdditionalGids = nil
		for _, g := range eu.Sgids {
			p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
		}
		if !hasEnv(req.Env, "HOME") {
			p.Env = mergeEnv(p.Env, []string{"HOME=" + eu.Home})
		}
	}
	if req.Privileged {
		caps := sortedCaps(host.BoundingSet)
		p.Capabilities = &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps,
		}
	}
	return &p, nil
}

// mergeEnv returns base with each KEY=value of over replacing base's KEY
// (or appended); a bare KEY in over is dropped, as docker drops it.
func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range over {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		replaced := false
		for i, e := range out {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				out[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			return true
		}
	}
	return false
}

// Resources validates c's HostConfig resources with docker's messages and
// returns them as OCI resources, for a live update. The caller holds c's
// lock.
func Resources(c *container.Container, host *Host) (*specs.LinuxResources, error) {
	if host == nil {
		h, err := DetectHost()
		if err != nil {
			return nil, err
		}
		host = h
	}
	s := &specs.Spec{Process: &specs.Process{}, Linux: &specs.Linux{Resources: &specs.LinuxResources{}}}
	b := &builder{s: s, c: c, hc: c.HostConfig, opts: &SpecOpts{}, host: host}
	if err := b.resources(); err != nil {
		return nil, err
	}
	return s.Linux.Resources, nil
}

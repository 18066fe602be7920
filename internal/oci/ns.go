//go:build linux

package oci

import (
	"fmt"
	"slices"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nsMode is one HostConfig namespace setting, normalised: "" (private,
// a new namespace), "host" (no namespace: the host's), or a container.
type nsMode struct {
	host      bool
	container string
}

func parseNSMode(field, v string, allowContainer, allowNone bool) (nsMode, error) {
	switch {
	case v == "" || v == "private" || v == "default" || v == "bridge" || v == "shareable" || (allowNone && v == "none"):
		return nsMode{}, nil
	case v == "host":
		return nsMode{host: true}, nil
	case allowContainer && strings.HasPrefix(v, "container:"):
		id := strings.TrimPrefix(v, "container:")
		if id == "" {
			return nsMode{}, invalidf("invalid %s: %s", field, v)
		}
		return nsMode{container: id}, nil
	}
	return nsMode{}, invalidf("invalid %s: %s", field, v)
}

// namespaces sets the spec's namespaces from PidMode, IpcMode, UTSMode,
// CgroupnsMode and NetworkMode. A mount namespace is always new. A
// NetworkMode naming a network (bridge, default, a user-defined name) joins
// SpecOpts.NetnsPath when set, else gets a new namespace, as "none" does.
func (b *builder) namespaces() error {
	hc := b.hc
	type one struct {
		typ   specs.LinuxNamespaceType
		field string
		value string
		cont  bool
		none  bool
	}
	net := string(hc.NetworkMode)
	if net != "none" && net != "host" && !strings.HasPrefix(net, "container:") {
		net = "" // a network: a namespace of its own, the daemon's when given
	}
	cgroupns := string(hc.CgroupnsMode)
	if cgroupns == "" && !b.host.CgroupV2 {
		cgroupns = "host" // docker's default on cgroup v1
	}
	if cgroupns != "" && cgroupns != "host" && cgroupns != "private" {
		return invalidf("invalid cgroup namespace mode: %s", cgroupns)
	}
	list := []one{
		{specs.PIDNamespace, "PidMode", string(hc.PidMode), true, false},
		{specs.IPCNamespace, "IpcMode", string(hc.IpcMode), true, true},
		{specs.UTSNamespace, "UTSMode", string(hc.UTSMode), true, false},
		{specs.NetworkNamespace, "NetworkMode", net, true, true},
		{specs.CgroupNamespace, "CgroupnsMode", cgroupns, false, false},
	}
	nss := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	for _, n := range list {
		m, err := parseNSMode(n.field, n.value, n.cont, n.none)
		if err != nil {
			return err
		}
		switch {
		case m.host:
			if n.typ == specs.UTSNamespace {
				b.s.Hostname, b.s.Domainname = "", ""
			}
			continue
		case m.container != "":
			if b.opts.ResolveContainer == nil {
				return fmt.Errorf("oci: %s=%s needs a container resolver", n.field, n.value)
			}
			pid, err := b.opts.ResolveContainer(m.container)
			if err != nil {
				return fmt.Errorf("joining %s of container %s: %w", n.typ, m.container, err)
			}
			if pid <= 0 {
				return invalidf("cannot join %s of container %s: it is not running", n.typ, m.container)
			}
			nss = append(nss, specs.LinuxNamespace{Type: n.typ, Path: fmt.Sprintf("/proc/%d/ns/%s", pid, nsFile[n.typ])})
			if n.typ == specs.IPCNamespace {
				b.ipcContainer = m.container
			}
			if n.typ == specs.UTSNamespace {
				b.s.Hostname, b.s.Domainname = "", ""
			}
		case n.typ == specs.NetworkNamespace && b.opts.NetnsPath != "":
			nss = append(nss, specs.LinuxNamespace{Type: n.typ, Path: b.opts.NetnsPath})
		default:
			nss = append(nss, specs.LinuxNamespace{Type: n.typ})
		}
	}
	b.ipcHost = hc.IpcMode == "host"
	b.ipcNone = hc.IpcMode == "none"
	b.netHost = net == "host"
	b.s.Linux.Namespaces = nss
	return nil
}

var nsFile = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts",
	specs.NetworkNamespace: "net", specs.CgroupNamespace: "cgroup", specs.MountNamespace: "mnt",
}

// user resolves Config.User ("uid", "uid:gid", "name", "name:group") and
// GroupAdd against the container's own /etc/passwd and /etc/group, as
// docker does; numeric ids need no entry.
func (b *builder) user() error {
	passwd, group := "", ""
	if b.opts.RootfsPath != "" {
		var err error
		if passwd, err = securejoin.SecureJoin(b.opts.RootfsPath, "/etc/passwd"); err != nil {
			return err
		}
		if group, err = securejoin.SecureJoin(b.opts.RootfsPath, "/etc/group"); err != nil {
			return err
		}
	}
	spec := b.c.Config.User
	defaults := &user.ExecUser{Home: "/"}
	eu, err := user.GetExecUserPath(spec, defaults, passwd, group)
	if err != nil {
		return invalidf("unable to find user %s: %v", spec, err)
	}
	b.s.Process.User.UID = uint32(eu.Uid)
	b.s.Process.User.GID = uint32(eu.Gid)
	b.home = eu.Home
	gids := map[uint32]bool{}
	var add []uint32
	push := func(g int) {
		if !gids[uint32(g)] {
			gids[uint32(g)] = true
			add = append(add, uint32(g))
		}
	}
	for _, g := range eu.Sgids {
		push(g)
	}
	if len(b.hc.GroupAdd) > 0 {
		extra, err := user.GetAdditionalGroupsPath(b.hc.GroupAdd, group)
		if err != nil {
			return invalidf("unable to find additional groups %v: %v", b.hc.GroupAdd, err)
		}
		for _, g := range extra {
			push(g)
		}
	}
	slices.Sort(add) // the group library returns map order
	b.s.Process.User.AdditionalGids = add
	return nil
}

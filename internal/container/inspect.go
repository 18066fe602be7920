package container

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"
)

// DefaultLogDriver is what inspect shows when HostConfig.LogConfig.Type was
// left empty at create.
const DefaultLogDriver = "json-file"

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// InspectOptions are the parts of inspect that other subsystems own.
type InspectOptions struct {
	GraphDriver *storage.DriverData // e.g. {Name: "overlay2", Data: {LowerDir, UpperDir, ...}}
	SizeRw      *int64
	SizeRootFs  *int64
}

// ToInspect renders the record in GET /containers/{id}/json's shape. The
// caller holds the record's lock.
func (c *Container) ToInspect(opts InspectOptions) *container.InspectResponse {
	s := c.State
	st := &container.State{
		Status:     c.statusFromFlags(),
		Running:    s.Running,
		Paused:     s.Paused,
		Restarting: s.Restarting,
		OOMKilled:  s.OOMKilled,
		Dead:       s.Dead,
		Pid:        s.Pid,
		ExitCode:   s.ExitCode,
		Error:      s.Error,
		StartedAt:  timeString(s.StartedAt),
		FinishedAt: timeString(s.FinishedAt),
	}
	if s.Health != nil {
		h := *s.Health
		st.Health = &h
	}
	hc := *c.HostConfig
	if hc.LogConfig.Type == "" {
		hc.LogConfig.Type = DefaultLogDriver
	}
	if hc.LogConfig.Config == nil {
		hc.LogConfig.Config = map[string]string{}
	}
	if hc.NetworkMode == "" {
		hc.NetworkMode = "none"
		if c.NetworkSettings != nil {
			hc.NetworkMode = "bridge"
		}
	}
	cfg := *c.Config
	mounts := c.MountPoints()
	if mounts == nil {
		mounts = []container.MountPoint{}
	}
	args := c.Args
	if args == nil {
		args = []string{}
	}
	return &container.InspectResponse{
		ID:              c.ID,
		Created:         timeString(c.Created),
		Path:            c.Path,
		Args:            args,
		State:           st,
		Image:           c.Image,
		ResolvConfPath:  c.ResolvConfPath,
		HostnamePath:    c.HostnamePath,
		HostsPath:       c.HostsPath,
		LogPath:         c.LogPath,
		Name:            c.Name,
		RestartCount:    c.RestartCount,
		Driver:          c.Driver,
		Platform:        "linux",
		ExecIDs:         c.ExecIDs,
		HostConfig:      &hc,
		GraphDriver:     opts.GraphDriver,
		SizeRw:          opts.SizeRw,
		SizeRootFs:      opts.SizeRootFs,
		Mounts:          mounts,
		Config:          &cfg,
		NetworkSettings: c.networkSettings(),
	}
}

// networkSettings renders the record's networks: the endpoint settings
// by network name with their addresses while the container runs, the
// sandbox and the published ports. A container:<id> mode has none; a
// record from before networking shows its mode as one empty entry.
func (c *Container) networkSettings() *container.NetworkSettings {
	ns := &container.NetworkSettings{Ports: network.PortMap{}, Networks: map[string]*network.EndpointSettings{}}
	mode := string(c.HostConfig.NetworkMode)
	if strings.HasPrefix(mode, "container:") {
		return ns
	}
	if c.NetworkSettings == nil {
		if mode == "" || mode == "default" {
			mode = "none"
		}
		ns.Networks[mode] = &network.EndpointSettings{}
		return ns
	}
	ns.SandboxID, ns.SandboxKey = c.NetworkSettings.SandboxID, c.NetworkSettings.SandboxKey
	for p, bs := range c.NetworkSettings.Ports {
		ns.Ports[p] = append([]network.PortBinding(nil), bs...)
	}
	for name, es := range c.NetworkSettings.Networks {
		cp := es.Copy()
		if cp == nil {
			cp = &network.EndpointSettings{}
		}
		ns.Networks[name] = cp
	}
	return ns
}

// portSummaries are list's Ports: one per binding, and one without a
// host side per exposed port that has none.
func (c *Container) portSummaries() []container.PortSummary {
	out := []container.PortSummary{}
	if c.NetworkSettings == nil {
		return out
	}
	for p, bs := range c.NetworkSettings.Ports {
		if len(bs) == 0 {
			out = append(out, container.PortSummary{PrivatePort: p.Num(), Type: string(p.Proto())})
			continue
		}
		for _, b := range bs {
			n, _ := strconv.Atoi(b.HostPort)
			out = append(out, container.PortSummary{IP: b.HostIP, PrivatePort: p.Num(), PublicPort: uint16(n), Type: string(p.Proto())})
		}
	}
	return out
}

// StatusString is list's human Status column ("Up 5 minutes (Paused)",
// "Exited (0) 3 seconds ago", "Created", ...), as docker words it.
func (c *Container) StatusString(now time.Time) string {
	s := c.State
	switch {
	case s.RemovalInProgress:
		return "Removal In Progress"
	case s.Dead:
		return "Dead"
	case s.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", s.ExitCode, units.HumanDuration(now.Sub(s.FinishedAt)))
	case s.Running:
		up := "Up " + units.HumanDuration(now.Sub(s.StartedAt))
		if s.Paused {
			return up + " (Paused)"
		}
		if s.Health != nil {
			switch s.Health.Status {
			case container.Starting:
				return up + " (health: starting)"
			case container.Healthy, container.Unhealthy:
				return up + " (" + string(s.Health.Status) + ")"
			}
		}
		return up
	case s.StartedAt.IsZero():
		return "Created"
	case s.FinishedAt.IsZero():
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", s.ExitCode, units.HumanDuration(now.Sub(s.FinishedAt)))
}

// ToSummary renders the record as one entry of GET /containers/json.
// The caller holds the record's lock.
func (c *Container) ToSummary(now time.Time) container.Summary {
	cmd := c.Path
	if len(c.Args) > 0 {
		cmd += " " + strings.Join(c.Args, " ")
	}
	img := c.ImageRef
	if img == "" {
		img = c.Image
	}
	mounts := c.MountPoints()
	if mounts == nil {
		mounts = []container.MountPoint{}
	}
	labels := c.Config.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	sum := container.Summary{
		ID:      c.ID,
		Names:   []string{c.Name},
		Image:   img,
		ImageID: c.Image,
		Command: cmd,
		Created: c.Created.Unix(),
		Ports:   c.portSummaries(),
		Labels:  labels,
		State:   c.statusFromFlags(),
		Status:  c.StatusString(now),
		Mounts:  mounts,
	}
	sum.HostConfig.NetworkMode = string(c.HostConfig.NetworkMode)
	if sum.HostConfig.NetworkMode == "" {
		sum.HostConfig.NetworkMode = "none"
		if c.NetworkSettings != nil {
			sum.HostConfig.NetworkMode = "bridge"
		}
	}
	sum.NetworkSettings = &container.NetworkSettingsSummary{Networks: c.networkSettings().Networks}
	if c.State.Health != nil {
		sum.Health = &container.HealthSummary{Status: c.State.Health.Status, FailingStreak: c.State.Health.FailingStreak}
	}
	return sum
}

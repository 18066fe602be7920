package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/shim"
	"github.com/berth-engine/berth/internal/streams"
)

// Health checks, as dockerd runs them: a probe is an exec in the
// container (through its shim, like `docker exec`), every Interval —
// StartInterval during the StartPeriod — cut off after Timeout; Retries
// failures in a row make the container unhealthy, failures during the
// start period do not count until a probe succeeds. The last five results
// are kept in State.Health; a change of status is a health_status event.

// Docker's defaults for a healthcheck's unset durations and retries.
const (
	defaultProbeInterval      = 30 * time.Second
	defaultProbeTimeout       = 30 * time.Second
	defaultProbeStartInterval = 5 * time.Second
	defaultProbeRetries       = 3
	// maxProbeOutput is how much of a probe's output is kept.
	maxProbeOutput = 4096
	// maxHealthLog is how many results State.Health.Log keeps.
	maxHealthLog = 5
)

// healthSet holds the running health monitors, by container ID.
type healthSet struct {
	mu sync.Mutex
	m  map[string]context.CancelFunc
}

func (s *healthSet) set(id string, cancel context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]context.CancelFunc{}
	}
	if old := s.m[id]; old != nil {
		old()
	}
	s.m[id] = cancel
}

func (s *healthSet) stop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cancel := s.m[id]; cancel != nil {
		cancel()
		delete(s.m, id)
	}
}

// probeCommand returns the probe's argv, or nil when the container has no
// healthcheck (none configured, or "NONE").
func probeCommand(hc *ctypes.HealthConfig) []string {
	if hc == nil || len(hc.Test) == 0 {
		return nil
	}
	switch hc.Test[0] {
	case "CMD":
		if len(hc.Test) > 1 {
			return hc.Test[1:]
		}
	case "CMD-SHELL":
		if len(hc.Test) > 1 {
			return []string{"/bin/sh", "-c", hc.Test[1]}
		}
	}
	return nil
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// startHealth begins probing a container that just started, when it has
// a healthcheck. The caller holds c's lock.
func (d *Daemon) startHealth(c *container.Container) {
	hc := c.Config.Healthcheck
	argv := probeCommand(hc)
	if argv == nil {
		c.State.Health = nil
		return
	}
	c.State.Health = &ctypes.Health{Status: ctypes.Starting, Log: []*ctypes.HealthcheckResult{}}
	ctx, cancel := context.WithCancel(context.Background())
	d.health.set(c.ID, cancel)
	go d.healthLoop(ctx, c, *hc, argv, c.State.StartedAt)
}

// restartHealth resumes probing a running container the daemon reattached
// to, keeping its recorded status. The caller holds c's lock.
func (d *Daemon) restartHealth(c *container.Container) {
	hc := c.Config.Healthcheck
	argv := probeCommand(hc)
	if argv == nil {
		return
	}
	if c.State.Health == nil {
		c.State.Health = &ctypes.Health{Status: ctypes.Starting, Log: []*ctypes.HealthcheckResult{}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.health.set(c.ID, cancel)
	go d.healthLoop(ctx, c, *hc, argv, c.State.StartedAt)
}

func (d *Daemon) healthLoop(ctx context.Context, c *container.Container, hc ctypes.HealthConfig, argv []string, started time.Time) {
	interval := durationOr(hc.Interval, defaultProbeInterval)
	startInterval := durationOr(hc.StartInterval, defaultProbeStartInterval)
	timeout := durationOr(hc.Timeout, defaultProbeTimeout)
	retries := hc.Retries
	if retries <= 0 {
		retries = defaultProbeRetries
	}
	for {
		wait := interval
		c.Lock()
		inStart := c.State.Health != nil && c.State.Health.Status == ctypes.Starting && time.Since(started) < hc.StartPeriod
		c.Unlock()
		if inStart {
			wait = startInterval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		res := d.probe(ctx, c, argv, timeout)
		if ctx.Err() != nil {
			return
		}
		d.recordProbe(ctx, c, res, retries, started, hc.StartPeriod)
	}
}

// probe runs one check.
func (d *Daemon) probe(ctx context.Context, c *container.Container, argv []string, timeout time.Duration) *ctypes.HealthcheckResult {
	res := &ctypes.HealthcheckResult{Start: time.Now()}
	fail := func(code int, msg string) *ctypes.HealthcheckResult {
		res.End, res.ExitCode, res.Output = time.Now(), code, msg
		return res
	}
	c.Lock()
	proc, err := d.execProcess(c, &ctypes.ExecCreateRequest{Cmd: argv})
	id := c.ID
	c.Unlock()
	if err != nil {
		return fail(-1, err.Error())
	}
	cl, err := d.shimOf(ctx, id)
	if err != nil {
		return fail(-1, err.Error())
	}
	execID := newExecID()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, stream, err := cl.Exec(pctx, execID, proc, shim.ExecOpts{Attach: &shim.AttachOpts{Stdout: true, Stderr: true}})
	if err != nil {
		return fail(-1, err.Error())
	}
	var out limitedBuffer
	copied := make(chan error, 1)
	go func() { copied <- streams.Copy(&out, stream, true, nil) }()
	select {
	case <-copied:
	case <-pctx.Done():
		_ = cl.KillExec(context.WithoutCancel(ctx), execID, syscall.SIGKILL)
		stream.Close()
		<-copied
		if ctx.Err() != nil {
			return fail(-1, "")
		}
		return fail(-1, fmt.Sprintf("Health check exceeded timeout (%v)", timeout))
	}
	stream.Close()
	exit, err := cl.WaitExec(pctx, execID)
	if err != nil {
		return fail(-1, err.Error())
	}
	res.End, res.ExitCode, res.Output = time.Now(), exit.Code, out.String()
	return res
}

// recordProbe updates State.Health with a result and publishes a change
// of status.
func (d *Daemon) recordProbe(ctx context.Context, c *container.Container, res *ctypes.HealthcheckResult, retries int, started time.Time, startPeriod time.Duration) {
	c.Lock()
	defer c.Unlock()
	h := c.State.Health
	if h == nil || !c.State.Running {
		return
	}
	old := h.Status
	if res.ExitCode == 0 {
		h.Status, h.FailingStreak = ctypes.Healthy, 0
	} else if !(h.Status == ctypes.Starting && time.Since(started) < startPeriod) {
		h.FailingStreak++
		if h.FailingStreak >= retries {
			h.Status = ctypes.Unhealthy
		}
	}
	h.Log = append(h.Log, res)
	if len(h.Log) > maxHealthLog {
		h.Log = h.Log[len(h.Log)-maxHealthLog:]
	}
	if err := d.containers.Save(c); err != nil {
		log.G(ctx).Error("saving health status", "id", c.ID, "err", err)
	}
	if h.Status != old {
		d.logContainerEventLocked(c, eventtypes.Action(string(eventtypes.ActionHealthStatus)+": "+string(h.Status)), nil)
	}
}

// limitedBuffer keeps the first maxProbeOutput bytes written to it and
// drops the rest.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxProbeOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

var _ io.Writer = (*limitedBuffer)(nil)

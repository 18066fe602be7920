package container

import (
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
)

// The transitions, as docker allows them:
//
//	created ──start──▶ running ──exit──▶ exited ──start──▶ running
//	running ──pause──▶ paused ──unpause──▶ running
//	running ──exit + restart policy──▶ restarting ──start──▶ running
//	any but removing ──remove──▶ removing ──(fail)──▶ dead
//
// Can* methods check a transition and return docker's error without
// changing anything; Set* methods apply one. The caller holds the record's
// lock across a Can*/Set* pair and persists the record afterwards.

// CanStart reports whether the container may be started. A running
// container gives ErrAlreadyRunning (docker answers 304, not an error).
func (c *Container) CanStart() error {
	s := &c.State
	switch {
	case s.Paused:
		return conflict("cannot start a paused container, try unpause instead")
	case s.RemovalInProgress || s.Dead:
		return conflict("container is marked for removal and cannot be started")
	case s.Running && !s.Restarting:
		return ErrAlreadyRunning
	}
	return nil
}

// ErrAlreadyRunning is CanStart's answer for a running container; the API
// turns it into 304 Not Modified. It is classed as a conflict.
var ErrAlreadyRunning = conflict("container is already running")

// CanStop reports whether stop has anything to do; a stopped container is
// not an error for docker (304), so this returns false rather than failing.
func (c *Container) CanStop() bool { return c.State.Running || c.State.Restarting }

// CanKill checks a kill: only a running (or paused) container can get a signal.
func (c *Container) CanKill() error {
	if !c.State.Running {
		return conflict(fmt.Sprintf("Container %s is not running", c.ID))
	}
	if c.State.Restarting {
		return conflict(fmt.Sprintf("Container %s is restarting, wait until the container is running", c.ID))
	}
	return nil
}

// CanPause checks a pause.
func (c *Container) CanPause() error {
	s := &c.State
	switch {
	case !s.Running:
		return conflict(fmt.Sprintf("Container %s is not running", c.ID))
	case s.Paused:
		return conflict(fmt.Sprintf("Container %s is already paused", c.ID))
	case s.Restarting:
		return conflict(fmt.Sprintf("Container %s is restarting, wait until the container is running", c.ID))
	}
	return nil
}

// CanUnpause checks an unpause.
func (c *Container) CanUnpause() error {
	if !c.State.Running || !c.State.Paused {
		return conflict(fmt.Sprintf("Container %s is not paused", c.ID))
	}
	return nil
}

// CanExec checks that a process can be started inside the container.
func (c *Container) CanExec() error {
	s := &c.State
	switch {
	case !s.Running:
		return conflict(fmt.Sprintf("container %s is not running", c.ID))
	case s.Paused:
		return conflict(fmt.Sprintf("container %s is paused, unpause the container before exec", c.ID))
	case s.Restarting:
		return conflict(fmt.Sprintf("container %s is restarting, wait until the container is running", c.ID))
	}
	return nil
}

// CanRemove checks a remove; force allows removing a live container (the
// caller kills it first). The name in the message keeps docker's leading "/".
func (c *Container) CanRemove(force bool) error {
	s := &c.State
	if s.RemovalInProgress {
		return conflict(fmt.Sprintf("removal of container %s is already in progress", c.ID))
	}
	if force || !s.Running {
		return nil
	}
	what, todo := "running", "stop the container before removing or force remove"
	switch {
	case s.Paused:
		what, todo = "paused", "unpause and then stop the container before removing or force remove"
	case s.Restarting:
		what = "restarting"
	}
	return conflict(fmt.Sprintf("cannot remove container %q: container is %s: %s", c.Name, what, todo))
}

// SetRunning records a successful start of process pid.
func (c *Container) SetRunning(pid int, now time.Time) {
	s := &c.State
	s.Status = container.StateRunning
	s.Running, s.Paused, s.Restarting, s.Dead = true, false, false, false
	s.OOMKilled = false
	s.Pid = pid
	s.ExitCode = 0
	s.Error = ""
	s.StartedAt = now.UTC()
	c.HasBeenStartedBefore = true
	c.HasBeenManuallyStopped = false
	if c.Config != nil && c.Config.Healthcheck != nil && len(c.Config.Healthcheck.Test) > 0 && c.Config.Healthcheck.Test[0] != "NONE" {
		s.Health = &container.Health{Status: container.Starting}
	}
}

// SetStopped records the exit of the container's process.
func (c *Container) SetStopped(exitCode int, oomKilled bool, now time.Time) {
	s := &c.State
	s.Status = container.StateExited
	s.Running, s.Paused, s.Restarting = false, false, false
	s.Pid = 0
	s.ExitCode = exitCode
	s.OOMKilled = oomKilled
	s.FinishedAt = now.UTC()
	if s.Health != nil {
		s.Health.Status = container.Unhealthy
		s.Health.FailingStreak = 0
	}
}

// SetStartError records a failed start: docker keeps the container
// "created" (or "exited" if it ran before) with Error set and exit code 128
// unless the runtime said otherwise.
func (c *Container) SetStartError(err error, exitCode int) {
	s := &c.State
	s.Error = err.Error()
	if exitCode == 0 {
		exitCode = 128
	}
	s.ExitCode = exitCode
	if c.HasBeenStartedBefore {
		s.Status = container.StateExited
	}
}

// SetRestarting records an exit that the restart policy will follow with
// a new start: docker keeps Running true while restarting.
func (c *Container) SetRestarting(exitCode int, now time.Time) {
	s := &c.State
	s.Status = container.StateRestarting
	s.Running, s.Restarting, s.Paused = true, true, false
	s.Pid = 0
	s.ExitCode = exitCode
	s.FinishedAt = now.UTC()
	c.RestartCount++
}

// SetPaused and SetUnpaused record a freeze and a thaw.
func (c *Container) SetPaused() {
	c.State.Status, c.State.Paused = container.StatePaused, true
}

func (c *Container) SetUnpaused() {
	c.State.Status, c.State.Paused = container.StateRunning, false
}

// SetRemoving marks the start of a remove; it checks CanRemove first.
func (c *Container) SetRemoving(force bool) error {
	if err := c.CanRemove(force); err != nil {
		return err
	}
	c.State.RemovalInProgress = true
	c.State.Status = container.StateRemoving
	return nil
}

// ResetRemoving undoes SetRemoving after a remove that could not start.
func (c *Container) ResetRemoving() {
	c.State.RemovalInProgress = false
	c.State.Status = c.statusFromFlags()
}

// SetDead records a remove that failed half-way; berthd retries on restart.
func (c *Container) SetDead() {
	c.State.Dead = true
	c.State.RemovalInProgress = false
	c.State.Status = container.StateDead
}

func (c *Container) statusFromFlags() container.ContainerState {
	s := &c.State
	switch {
	case s.RemovalInProgress:
		return container.StateRemoving
	case s.Dead:
		return container.StateDead
	case s.Restarting:
		return container.StateRestarting
	case s.Paused:
		return container.StatePaused
	case s.Running:
		return container.StateRunning
	case s.StartedAt.IsZero():
		return container.StateCreated
	}
	return container.StateExited
}

package daemon

import (
	"context"
	"fmt"

	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/oci"
)

// Operations on a running container that go through its shim: pause,
// unpause, resize and live resource updates.

// ContainerPause freezes every process of the container (the runtime's
// freezer).
func (d *Daemon) ContainerPause(ctx context.Context, idOrName string) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	defer c.Unlock()
	if err := c.CanPause(); err != nil {
		return classify(err)
	}
	cl, err := d.shimOf(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.ID, err)
	}
	if err := cl.Pause(ctx); err != nil {
		return fmt.Errorf("cannot pause container %s: %w", c.ID, shimError(err))
	}
	c.SetPaused()
	if err := d.containers.Save(c); err != nil {
		log.G(ctx).Error("saving paused container", "id", c.ID, "err", err)
	}
	d.logContainerEventLocked(c, eventtypes.ActionPause, nil)
	return nil
}

// ContainerUnpause thaws a paused container.
func (d *Daemon) ContainerUnpause(ctx context.Context, idOrName string) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	defer c.Unlock()
	if err := c.CanUnpause(); err != nil {
		return classify(err)
	}
	cl, err := d.shimOf(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.ID, err)
	}
	if err := cl.Resume(ctx); err != nil {
		return fmt.Errorf("cannot unpause container %s: %w", c.ID, shimError(err))
	}
	c.SetUnpaused()
	if err := d.containers.Save(c); err != nil {
		log.G(ctx).Error("saving unpaused container", "id", c.ID, "err", err)
	}
	d.logContainerEventLocked(c, eventtypes.ActionUnPause, nil)
	return nil
}

// ContainerResize sets the size of a running container's terminal.
func (d *Daemon) ContainerResize(ctx context.Context, idOrName string, height, width uint) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	running, tty, id := c.State.Running, c.Config.Tty, c.ID
	c.Unlock()
	if !running {
		return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("Container %s is not running", id))
	}
	if !tty || height == 0 || width == 0 {
		// Nothing to size (the docker CLI only asks with a TTY); a zero
		// dimension is "size unknown", which dockerd 20.10 accepts with
		// 200 and the shim refuses: answered as dockerd, left unchanged.
		return nil
	}
	cl, err := d.shimOf(ctx, id)
	if err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	return shimError(cl.Resize(ctx, "", uint16(width), uint16(height)))
}

// ContainerUpdate changes the resources and restart policy of a container
// as `docker update` does: only the fields the request sets; applied to
// the running container at once, and kept for the next starts.
func (d *Daemon) ContainerUpdate(ctx context.Context, idOrName string, upd *ctypes.UpdateConfig) (ctypes.UpdateResponse, error) {
	resp := ctypes.UpdateResponse{Warnings: []string{}}
	if upd == nil {
		return resp, errdefs.New(errdefs.ErrInvalidParameter, "update config cannot be empty")
	}
	c, err := d.getContainer(idOrName)
	if err != nil {
		return resp, err
	}
	c.Lock()
	defer c.Unlock()
	if c.State.RemovalInProgress || c.State.Dead {
		return resp, errdefs.New(errdefs.ErrConflict, fmt.Sprintf("Cannot update container %s: container is marked for removal and cannot be \"update\"", c.ID))
	}
	hc := *c.HostConfig
	if err := mergeResources(&hc.Resources, &upd.Resources); err != nil {
		return resp, err
	}
	if upd.RestartPolicy.Name != "" {
		hc.RestartPolicy = upd.RestartPolicy
		if err := validateRestartPolicy(&hc); err != nil {
			return resp, err
		}
	}
	// Validate the whole result the way create does.
	probe := container.New(c.ID, c.Name, c.Config, &hc, c.Created)
	res, err := oci.Resources(probe, nil)
	if err != nil {
		return resp, classify(err)
	}
	if c.State.Running {
		cl, err := d.shimOf(ctx, c.ID)
		if err != nil {
			return resp, fmt.Errorf("container %s: %w", c.ID, err)
		}
		if err := cl.Update(ctx, res); err != nil {
			return resp, fmt.Errorf("Cannot update container %s: %w", c.ID, shimError(err))
		}
	}
	c.HostConfig = &hc
	if err := d.containers.Save(c); err != nil {
		return resp, fmt.Errorf("saving container %s: %w", c.ID, err)
	}
	d.logContainerEventLocked(c, eventtypes.ActionUpdate, nil)
	return resp, nil
}

// mergeResources applies the fields of upd that are set to r, with
// docker's checks between memory and swap.
func mergeResources(r, upd *ctypes.Resources) error {
	if upd.BlkioWeight != 0 {
		r.BlkioWeight = upd.BlkioWeight
	}
	if upd.CPUShares != 0 {
		r.CPUShares = upd.CPUShares
	}
	if upd.NanoCPUs != 0 {
		if r.CPUQuota > 0 || upd.CPUQuota > 0 {
			return errdefs.New(errdefs.ErrInvalidParameter, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
		}
		r.NanoCPUs = upd.NanoCPUs
	}
	if upd.CPUPeriod != 0 {
		r.CPUPeriod = upd.CPUPeriod
	}
	if upd.CPUQuota != 0 {
		if r.NanoCPUs > 0 {
			return errdefs.New(errdefs.ErrInvalidParameter, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
		}
		r.CPUQuota = upd.CPUQuota
	}
	if upd.CpusetCpus != "" {
		r.CpusetCpus = upd.CpusetCpus
	}
	if upd.CpusetMems != "" {
		r.CpusetMems = upd.CpusetMems
	}
	if upd.Memory != 0 {
		swap := r.MemorySwap
		if swap == 0 && r.Memory > 0 {
			swap = 2 * r.Memory // what create gave it
		}
		if upd.MemorySwap == 0 && swap > 0 && upd.Memory > swap {
			return errdefs.New(errdefs.ErrInvalidParameter, "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
		}
		r.Memory = upd.Memory
	}
	if upd.MemorySwap != 0 {
		r.MemorySwap = upd.MemorySwap
	}
	if upd.MemoryReservation != 0 {
		r.MemoryReservation = upd.MemoryReservation
	}
	if upd.PidsLimit != nil {
		v := *upd.PidsLimit
		r.PidsLimit = &v
	}
	if upd.OomKillDisable != nil {
		v := *upd.OomKillDisable
		r.OomKillDisable = &v
	}
	return nil
}

package daemon

import (
	"context"
	"time"

	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/shim"
	"github.com/berth-engine/berth/internal/shim/shimapi"
)

// settleStrayShims handles the shims of containers recorded as not running:
// a berthd that died between a start's shim spawn and its record's save
// (which lands after the start's answer) left them. A container whose
// process runs, or ran and exited (the start got through), is recorded
// running so that RestoreContainers adopts it or records its exit (and an
// AutoRemove container is removed); one still waiting in "created" (the
// start never happened) has its shim deleted, which removes its runtime
// state and cgroup, and its rootfs mount released.
func (d *Daemon) settleStrayShims(ctx context.Context) {
	for _, c := range d.containers.List() {
		c.Lock()
		running := c.State.Running
		c.Unlock()
		if running {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cl, err := shim.Connect(cctx, shimapi.SocketPath(d.cfg.ExecRoot, c.ID))
		if err != nil {
			cancel()
			continue // no shim: the usual case
		}
		st, err := cl.State(cctx)
		switch {
		case err == nil && (st.Status == shimapi.StatusRunning || st.Status == shimapi.StatusPaused || st.Status == shimapi.StatusStopped):
			c.Lock()
			c.SetRunning(st.Pid, time.Now())
			if err := d.containers.Save(c); err != nil {
				log.G(ctx).Error("saving an adopted container", "id", c.ID, "err", err)
			}
			c.Unlock()
			log.G(ctx).Warn("container found running after a start the daemon did not record: adopted", "id", c.ID, "pid", st.Pid)
		default:
			if _, err := cl.Delete(cctx, true); err != nil {
				log.G(ctx).Warn("deleting the shim of a container that never started", "id", c.ID, "err", err)
			} else {
				log.G(ctx).Info("removed the shim of a container that never started", "id", c.ID)
			}
			_ = mount.UnmountAll(d.rootfsDir(c.ID))
		}
		cancel()
	}
}

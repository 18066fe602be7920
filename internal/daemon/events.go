package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/distribution/reference"
	eventtypes "github.com/moby/moby/api/types/events"
	imagetypes "github.com/moby/moby/api/types/image"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/events"
	"github.com/berth-engine/berth/internal/oci"
)

// The daemon's events, emitted where dockerd emits them:
//
//	container: create, start, die (exitCode, execDuration), stop, kill
//	(signal), restart, rename (oldName), destroy, attach, export, oom,
//	prune (reclaimed); pause/unpause, exec_* and health_status through
//	LogContainerEvent and LogHealthStatus, for the verbs that call them
//	image: import, tag, untag, delete, prune
//
// Container events carry the container's labels and its image (as the
// user named it) and name; image events the image's labels and a name.

// SubscribeEvents implements the system router's Backend: the recent
// events matching filters within [since, until] and a subscription to the
// live ones. An unknown filter is ErrInvalidParameter.
func (d *Daemon) SubscribeEvents(ctx context.Context, since, until time.Time, filters map[string][]string) ([]eventtypes.Message, *events.Subscription, error) {
	f, err := events.NewFilter(filters)
	if err != nil {
		return nil, nil, errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	past, sub := d.events.Subscribe(since, until, f)
	return past, sub, nil
}

// containerAttributes are the attributes every container event carries.
// The caller holds c's lock.
func containerAttributes(c *container.Container, extra map[string]string) map[string]string {
	attrs := map[string]string{}
	if c.Config != nil {
		for k, v := range c.Config.Labels {
			attrs[k] = v
		}
	}
	attrs["image"] = c.ImageRef
	if attrs["image"] == "" && c.Config != nil {
		attrs["image"] = c.Config.Image
	}
	attrs["name"] = strings.TrimPrefix(c.Name, "/")
	for k, v := range extra {
		attrs[k] = v
	}
	return attrs
}

// logContainerEventLocked publishes a container event; the caller holds
// c's lock.
func (d *Daemon) logContainerEventLocked(c *container.Container, action eventtypes.Action, extra map[string]string) {
	d.events.Publish(eventtypes.Message{
		Type:   eventtypes.ContainerEventType,
		Action: action,
		Actor:  eventtypes.Actor{ID: c.ID, Attributes: containerAttributes(c, extra)},
	})
}

// LogContainerEvent publishes a container event (pause, unpause, exec_*,
// ...) with the container's attributes and extra ones. It takes c's lock.
func (d *Daemon) LogContainerEvent(c *container.Container, action eventtypes.Action, extra map[string]string) {
	c.Lock()
	defer c.Unlock()
	d.logContainerEventLocked(c, action, extra)
}

// LogHealthStatus publishes docker's "health_status: <status>" event
// (starting, healthy, unhealthy). It takes c's lock.
func (d *Daemon) LogHealthStatus(c *container.Container, status string) {
	d.LogContainerEvent(c, eventtypes.Action(string(eventtypes.ActionHealthStatus)+": "+status), nil)
}

// logContainerEventByID publishes an event for the container id when it
// still exists.
func (d *Daemon) logContainerEventByID(id string, action eventtypes.Action, extra map[string]string) {
	if c, err := d.containers.Get(id); err == nil {
		d.LogContainerEvent(c, action, extra)
	}
}

// logImageEvent publishes an image event for the image id; name is the
// reference the action concerns (the ID itself when there is none).
func (d *Daemon) logImageEvent(ctx context.Context, id, name string, action eventtypes.Action) {
	attrs := map[string]string{}
	if img, err := d.images.Inspect(ctx, id); err == nil && img.Config != nil {
		for k, v := range img.Config.Labels {
			attrs[k] = v
		}
	}
	attrs["name"] = name
	d.events.Publish(eventtypes.Message{
		Type:   eventtypes.ImageEventType,
		Action: action,
		Actor:  eventtypes.Actor{ID: id, Attributes: attrs},
	})
}

// oomKilled reads whether the kernel's OOM killer killed a process of the
// cgroup cg (relative to the hierarchy roots), from memory.events (v2) or
// memory.oom_control (v1). The cgroup must still exist.
func oomKilled(cg string) bool {
	for _, p := range []string{
		filepath.Join("/sys/fs/cgroup/memory", cg, "memory.oom_control"),
		filepath.Join("/sys/fs/cgroup", cg, "memory.events"),
		filepath.Join("/sys/fs/cgroup/unified", cg, "memory.events"),
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, " ")
			if ok && k == "oom_kill" {
				n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				return n > 0
			}
		}
	}
	return false
}

// logKill publishes docker's kill event, whose signal attribute is the
// signal's number.
func (d *Daemon) logKill(c *container.Container, sig syscall.Signal) {
	d.LogContainerEvent(c, eventtypes.ActionKill, map[string]string{"signal": strconv.Itoa(int(sig))})
}

// exitedByOOM reports whether the OOM killer acted in the container's
// cgroup; false when the container or its cgroup is gone.
func (d *Daemon) exitedByOOM(id string) bool {
	c, err := d.containers.Get(id)
	if err != nil {
		return false
	}
	c.Lock()
	cg := oci.CgroupsPath(c)
	c.Unlock()
	return oomKilled(cg)
}

// familiarTag is ref as docker names it in events ("busybox:latest").
func familiarTag(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(reference.TagNameOnly(named))
}

// logDeleteEvents publishes an rmi's untag and delete events from its
// report, as dockerd does (the actor is the image ID; untags name the ID
// too). The image is gone: its labels are not known any more.
func (d *Daemon) logDeleteEvents(id string, items []imagetypes.DeleteResponse) {
	for _, it := range items {
		switch {
		case it.Untagged != "":
			d.events.Publish(eventtypes.Message{Type: eventtypes.ImageEventType, Action: eventtypes.ActionUnTag,
				Actor: eventtypes.Actor{ID: id, Attributes: map[string]string{"name": id}}})
		case it.Deleted != "" && (it.Deleted == id || id == ""):
			// The report also lists the layers released; dockerd's
			// delete event is the image's only.
			d.events.Publish(eventtypes.Message{Type: eventtypes.ImageEventType, Action: eventtypes.ActionDelete,
				Actor: eventtypes.Actor{ID: it.Deleted, Attributes: map[string]string{"name": it.Deleted}}})
		}
	}
}

// pruneEvent is dockerd's event after a prune of objects of type typ
// (API 1.42+): the actor has no ID and the space reclaimed as attribute.
func pruneEvent(typ eventtypes.Type, reclaimed uint64) eventtypes.Message {
	return eventtypes.Message{Type: typ, Action: eventtypes.ActionPrune,
		Actor: eventtypes.Actor{Attributes: map[string]string{"reclaimed": strconv.FormatUint(reclaimed, 10)}}}
}

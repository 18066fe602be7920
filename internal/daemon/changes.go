package daemon

import (
	"context"
	"fmt"
	"io"

	goarchive "github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/berth-engine/berth/internal/mount"
)

// ContainerChanges lists what the container changed in its filesystem
// (docker diff), from its writable layer; running or not.
func (d *Daemon) ContainerChanges(ctx context.Context, idOrName string) ([]ctypes.FilesystemChange, error) {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return nil, err
	}
	changes, err := d.snapshots.Changes(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s changes: %w", c.ID, classify(err))
	}
	out := make([]ctypes.FilesystemChange, 0, len(changes))
	for _, ch := range changes {
		out = append(out, ctypes.FilesystemChange{Path: ch.Path, Kind: ctypes.ChangeType(ch.Kind)})
	}
	return dropInitChanges(out), nil
}

// ContainerExport writes a tar of the container's whole filesystem to w:
// from its rootfs mount while it runs, else from a read-only mount of its
// layers made for the export. start is called once the filesystem is
// ready, before the first byte (the router sends its headers then).
func (d *Daemon) ContainerExport(ctx context.Context, idOrName string, start func(), w io.Writer) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	// A container waiting to be restarted counts as running but has no
	// rootfs mount: export it from its layers like a stopped one.
	running := c.State.Running && !c.State.Restarting
	c.Unlock()
	write := func(root string) error {
		rc, err := goarchive.TarWithOptions(root, &goarchive.TarOptions{Compression: compression.None})
		if err != nil {
			return fmt.Errorf("container %s export: %w", c.ID, err)
		}
		defer rc.Close()
		start()
		_, err = io.Copy(w, rc)
		return err
	}
	if running {
		err = write(d.rootfsDir(c.ID))
	} else {
		ms, merr := d.snapshots.ReadOnlyMounts(ctx, c.ID)
		if merr != nil {
			return fmt.Errorf("container %s layer: %w", c.ID, classify(merr))
		}
		err = mount.WithTempMount(ctx, ms, write)
	}
	if err != nil {
		return err
	}
	d.LogContainerEvent(c, eventtypes.ActionExport, nil)
	return nil
}

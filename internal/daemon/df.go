package daemon

import (
	"context"
	"io/fs"
	"path/filepath"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/build"
	ctypes "github.com/moby/moby/api/types/container"
	imagetypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
)

// SystemDiskUsage implements the system router's disk usage (GET
// /system/df): the images with how many containers use them, the
// containers with the size of their writable layer (SizeRw) and of their
// whole filesystem (SizeRootFs), the volumes with their size and how many
// containers use them, and empty build cache usage (berth has none yet).
// Items are always filled; the router drops them
// when the client did not ask for verbose output.
func (d *Daemon) SystemDiskUsage(ctx context.Context) (*system.DiskUsage, error) {
	imgs, err := d.images.List(ctx)
	if err != nil {
		return nil, err
	}
	sizeOf := map[string]int64{}
	for _, im := range imgs {
		sizeOf[im.ID] = im.Size
	}
	now := time.Now()
	used := map[string]int64{}
	cu := &ctypes.DiskUsage{Items: []ctypes.Summary{}}
	for _, c := range d.containers.List() {
		c.Lock()
		s := c.ToSummary(now)
		running := c.State.Running
		c.Unlock()
		used[s.ImageID]++
		s.SizeRw = d.writableLayerSize(ctx, s.ID)
		s.SizeRootFs = s.SizeRw + sizeOf[s.ImageID]
		cu.Items = append(cu.Items, s)
		cu.TotalCount++
		cu.TotalSize += s.SizeRw
		if running {
			cu.ActiveCount++
		} else {
			cu.Reclaimable += s.SizeRw
		}
	}
	iu := &imagetypes.DiskUsage{Items: []imagetypes.Summary{}}
	for _, im := range imgs {
		im.Containers = used[im.ID]
		im.SharedSize = 0 // imported images share no layers
		iu.Items = append(iu.Items, im)
		iu.TotalCount++
		iu.TotalSize += im.Size
		if im.Containers > 0 {
			iu.ActiveCount++
		} else {
			iu.Reclaimable += im.Size
		}
	}
	return &system.DiskUsage{
		ImageUsage:      iu,
		ContainerUsage:  cu,
		VolumeUsage:     d.volumeDiskUsage(),
		BuildCacheUsage: &build.DiskUsage{Items: []build.CacheRecord{}},
	}, nil
}

// ContainerSize is the disk use of the container's writable layer and of
// its root filesystem (the image's size plus that layer), as docker's
// size=1 reports them.
func (d *Daemon) ContainerSize(ctx context.Context, idOrName string) (int64, int64, error) {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return 0, 0, err
	}
	c.Lock()
	id, imageID := c.ID, c.Image
	c.Unlock()
	rw := d.writableLayerSize(ctx, id)
	var image int64
	if im, err := d.images.Inspect(ctx, imageID); err == nil && im.Size > 0 {
		image = im.Size
	}
	return rw, rw + image, nil
}

// writableLayerSize is the disk use of the container's writable layer (its
// snapshot's upper directory), 0 when it cannot be read.
func (d *Daemon) writableLayerSize(ctx context.Context, id string) int64 {
	_, data, err := d.snapshots.DriverData(ctx, id)
	if err != nil || data["UpperDir"] == "" {
		return 0
	}
	return dirSize(data["UpperDir"])
}

// dirSize sums the sizes of the files under dir (directories count 0),
// counting a hard-linked inode once, as docker's does.
func dirSize(dir string) int64 {
	var total int64
	seen := map[[2]uint64]bool{}
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			k := [2]uint64{uint64(st.Dev), st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		total += fi.Size()
		return nil
	})
	return total
}

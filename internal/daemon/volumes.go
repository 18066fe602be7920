package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	archive "github.com/moby/go-archive"
	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"
	voltypes "github.com/moby/moby/api/types/volume"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/volume"
)

// Volumes: the store is internal/volume under <data-root>/volumes. A
// container's volumes are resolved at create (c.Volumes) from -v, --mount
// type=volume, the image's and the request's VOLUME paths and
// --volumes-from; the container holds a reference on each from create to
// removal, and a mount from start to exit. Events as dockerd's: volume
// create, mount (container, destination, driver, propagation, read/write),
// unmount (container, driver), destroy.

func (d *Daemon) logVolumeEvent(name string, action eventtypes.Action, attrs map[string]string) {
	a := map[string]string{"driver": volume.DriverName}
	for k, v := range attrs {
		a[k] = v
	}
	d.events.Publish(eventtypes.Message{
		Type:   eventtypes.VolumeEventType,
		Action: action,
		Actor:  eventtypes.Actor{ID: name, Attributes: a},
	})
}

// acquireVolumes takes the references of the containers on record, at
// start-up, so that a volume in use stays in use across a restart.
func (d *Daemon) acquireVolumes(ctx context.Context) {
	for _, c := range d.containers.List() {
		c.Lock()
		for _, v := range c.Volumes {
			if v.Type != mount.TypeVolume {
				continue
			}
			if err := d.vols.Acquire(v.Name, c.ID); err != nil {
				log.G(ctx).Warn("container names a missing volume", "id", c.ID, "volume", v.Name)
			}
		}
		c.Unlock()
	}
}

func (d *Daemon) toAPIVolume(v volume.Volume, withUsage bool) voltypes.Volume {
	out := voltypes.Volume{
		Name: v.Name, Driver: v.Driver, Mountpoint: d.vols.Path(v.Name),
		Labels: v.Labels, Options: v.Options, Scope: "local",
	}
	if !v.CreatedAt.IsZero() {
		out.CreatedAt = v.CreatedAt.Format(time.RFC3339)
	}
	if len(out.Options) == 0 {
		out.Options = nil // docker shows null for a volume made without options
	}
	if withUsage {
		out.UsageData = &voltypes.UsageData{Size: d.vols.Size(v.Name), RefCount: int64(len(d.vols.Users(v.Name)))}
	}
	return out
}

// VolumeCreate implements the volume router's Backend.
func (d *Daemon) VolumeCreate(ctx context.Context, req voltypes.CreateRequest) (voltypes.Volume, error) {
	v, created, err := d.vols.Create(ctx, req.Name, req.Driver, req.DriverOpts, req.Labels)
	if err != nil {
		return voltypes.Volume{}, err
	}
	if created {
		d.logVolumeEvent(v.Name, eventtypes.ActionCreate, nil)
	}
	return d.toAPIVolume(v, false), nil
}

// VolumeInspect implements the volume router's Backend.
func (d *Daemon) VolumeInspect(ctx context.Context, name string) (voltypes.Volume, error) {
	v, err := d.vols.Get(name)
	if err != nil {
		return voltypes.Volume{}, err
	}
	return d.toAPIVolume(v, false), nil
}

// Volumes implements the volume router's Backend: filters dangling,
// driver, label (key or key=value), name (substring). Filter errors have
// dockerd 20.10's capital "Invalid filter".
func (d *Daemon) Volumes(ctx context.Context, filters map[string][]string) ([]voltypes.Volume, error) {
	for k, vs := range filters {
		switch k {
		case "driver", "label", "name":
		case "dangling":
			for _, v := range vs {
				if _, err := parseBoolFilter(v); err != nil {
					return nil, err
				}
			}
		default:
			return nil, invalidParam("Invalid filter '%s'", k)
		}
	}
	out := []voltypes.Volume{}
	for _, v := range d.vols.List() {
		if !d.volumeMatches(v, filters) {
			continue
		}
		out = append(out, d.toAPIVolume(v, false))
	}
	return out, nil
}

func parseBoolFilter(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, invalidParam("Invalid filter 'dangling=[%s]'", v)
}

func (d *Daemon) volumeMatches(v volume.Volume, f map[string][]string) bool {
	anyOf := func(key string, match func(string) bool) bool {
		vs := f[key]
		return len(vs) == 0 || slices.ContainsFunc(vs, match)
	}
	labelMatch := func(want string) bool {
		k, val, hasVal := strings.Cut(want, "=")
		got, ok := v.Labels[k]
		return ok && (!hasVal || got == val)
	}
	// every label filter must hold, as with dockerd
	for _, l := range f["label"] {
		if !labelMatch(l) {
			return false
		}
	}
	for _, l := range f["label!"] {
		if labelMatch(l) {
			return false
		}
	}
	return anyOf("name", func(s string) bool { return strings.Contains(v.Name, s) }) &&
		anyOf("driver", func(s string) bool { return s == v.Driver }) &&
		anyOf("dangling", func(s string) bool {
			want, _ := parseBoolFilter(s)
			return want == (len(d.vols.Users(v.Name)) == 0)
		})
}

// VolumeRemove implements the volume router's Backend.
func (d *Daemon) VolumeRemove(ctx context.Context, name string, force bool) error {
	if _, err := d.vols.Get(name); err != nil {
		if force && errors.Is(err, errdefs.ErrNotFound) {
			return nil
		}
		return err
	}
	if err := d.vols.Remove(ctx, name, force); err != nil {
		return err
	}
	d.logVolumeEvent(name, eventtypes.ActionDestroy, nil)
	return nil
}

// VolumesPrune implements the volume router's Backend: unused anonymous
// volumes, every unused one with all=true; label and label! narrow it.
func (d *Daemon) VolumesPrune(ctx context.Context, filters map[string][]string) (voltypes.PruneReport, error) {
	all := false
	for k, vs := range filters {
		switch k {
		case "label", "label!":
		case "all":
			for _, v := range vs {
				b, err := parseBoolFilter(v)
				if err != nil {
					return voltypes.PruneReport{}, invalidParam("Invalid filter 'all=[%s]'", v)
				}
				all = all || b
			}
		default:
			return voltypes.PruneReport{}, invalidParam("Invalid filter '%s'", k)
		}
	}
	rep := voltypes.PruneReport{VolumesDeleted: []string{}}
	for _, v := range d.vols.List() {
		if !all && !v.Anonymous() {
			continue
		}
		if len(d.vols.Users(v.Name)) > 0 || !d.volumeMatches(v, map[string][]string{"label": filters["label"], "label!": filters["label!"]}) {
			continue
		}
		size := d.vols.Size(v.Name)
		if err := d.vols.Remove(ctx, v.Name, false); err != nil {
			if errors.Is(err, errdefs.ErrConflict) {
				continue // taken by a create meanwhile
			}
			return rep, err
		}
		d.logVolumeEvent(v.Name, eventtypes.ActionDestroy, nil)
		rep.VolumesDeleted = append(rep.VolumesDeleted, v.Name)
		if size > 0 {
			rep.SpaceReclaimed += uint64(size)
		}
	}
	d.events.Publish(eventtypes.Message{
		Type: eventtypes.VolumeEventType, Action: eventtypes.ActionPrune,
		Actor: eventtypes.Actor{Attributes: map[string]string{"reclaimed": fmt.Sprint(rep.SpaceReclaimed)}},
	})
	return rep, nil
}

// volumeDiskUsage is system df's volume section.
func (d *Daemon) volumeDiskUsage() *voltypes.DiskUsage {
	du := &voltypes.DiskUsage{Items: []voltypes.Volume{}}
	for _, v := range d.vols.List() {
		av := d.toAPIVolume(v, true)
		du.Items = append(du.Items, av)
		du.TotalCount++
		if av.UsageData.Size > 0 {
			du.TotalSize += av.UsageData.Size
		}
		if av.UsageData.RefCount > 0 {
			du.ActiveCount++
		} else if av.UsageData.Size > 0 {
			du.Reclaimable += av.UsageData.Size
		}
	}
	return du
}

// plannedVolume is one volume a create asks for, before anything exists.
type plannedVolume struct {
	container.VolumeMount
	opts   map[string]string // --mount volume-opt, for a volume to create
	labels map[string]string
}

// planVolumes resolves the volumes of a create request without creating
// anything: -v name:/path and -v /path, --mount type=volume, the VOLUME
// paths of the image and request not covered by another mount, and
// --volumes-from. Every error is ErrInvalidParameter.
func (d *Daemon) planVolumes(cfg *ctypes.Config, hc *ctypes.HostConfig, imageVolumes map[string]struct{}) ([]plannedVolume, error) {
	var out []plannedVolume
	taken := map[string]bool{} // destinations
	for _, s := range hc.Binds {
		b, err := container.ParseBind(s)
		if err != nil {
			return nil, classify(err)
		}
		taken[b.Destination] = true
		if !b.Volume {
			continue
		}
		if b.Propagation != "" {
			return nil, invalidParam("invalid volume specification: '%s': invalid mount config for type \"volume\": field BindOptions must not be specified", s)
		}
		vm := container.VolumeMount{Type: mount.TypeVolume, Name: b.Source, Destination: b.Destination, RW: !b.ReadOnly, Mode: b.Mode, CopyData: !b.NoCopy}
		if vm.Name == "" {
			vm.Anonymous = true
		} else if err := volume.ValidateName(vm.Name); err != nil {
			return nil, err
		}
		if vm.Mode == "" && !vm.Anonymous {
			vm.Mode = "z" // as dockerd shows a -v named volume
		}
		out = append(out, plannedVolume{VolumeMount: vm})
	}
	for _, m := range hc.Mounts {
		dst := path.Clean(m.Target)
		taken[dst] = true
		if m.Type != mount.TypeVolume {
			continue
		}
		if m.BindOptions != nil {
			return nil, invalidParam("invalid mount config for type \"volume\": field BindOptions must not be specified")
		}
		if m.TmpfsOptions != nil {
			return nil, invalidParam("invalid mount config for type \"volume\": field TmpfsOptions must not be specified")
		}
		vo := m.VolumeOptions
		if vo == nil {
			vo = &mount.VolumeOptions{}
		}
		if vo.Subpath != "" {
			return nil, invalidParam("invalid mount config for type \"volume\": volume subpath is not supported by berth")
		}
		// dockerd shows Mode "z" for --mount volumes too.
		pv := plannedVolume{VolumeMount: container.VolumeMount{Type: mount.TypeVolume, Name: m.Source, Destination: dst, RW: !m.ReadOnly, Mode: "z", CopyData: !vo.NoCopy}, labels: vo.Labels}
		if vo.DriverConfig != nil {
			if n := vo.DriverConfig.Name; n != "" && n != volume.DriverName {
				return nil, invalidParam("invalid mount config for type \"volume\": volume driver %q is not available: berth has the local driver only", n)
			}
			pv.opts = vo.DriverConfig.Options
			if err := volume.ValidateOptions(m.Source, pv.opts); err != nil {
				return nil, err
			}
		}
		if m.Source == "" {
			pv.Anonymous = true
		} else if err := volume.ValidateName(m.Source); err != nil {
			return nil, err
		}
		out = append(out, pv)
	}
	for dst := range hc.Tmpfs {
		taken[path.Clean(dst)] = true
	}
	// --volumes-from: the other container's volumes and binds, read-only
	// with :ro.
	for _, ref := range hc.VolumesFrom {
		id, mode, _ := strings.Cut(ref, ":")
		ro := false
		switch mode {
		case "", "rw":
		case "ro":
			ro = true
		default:
			return nil, invalidParam("invalid mode for volumes-from: %s", mode)
		}
		other, err := d.containers.Get(id)
		if err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, "No such container: "+id)
		}
		other.Lock()
		var theirs []container.VolumeMount
		for _, v := range other.Volumes {
			theirs = append(theirs, v)
		}
		for _, s := range other.HostConfig.Binds {
			if b, err := container.ParseBind(s); err == nil && !b.Volume {
				theirs = append(theirs, container.VolumeMount{Type: mount.TypeBind, Source: b.Source, Destination: b.Destination, RW: !b.ReadOnly, Mode: b.Mode, Propagation: b.Propagation})
			}
		}
		other.Unlock()
		for _, v := range theirs {
			if taken[v.Destination] {
				continue
			}
			taken[v.Destination] = true
			v.Anonymous, v.CopyData = false, false
			if ro {
				v.RW = false
			}
			if v.Propagation == "" {
				v.Propagation = mount.PropagationRPrivate
			}
			out = append(out, plannedVolume{VolumeMount: v})
		}
	}
	// VOLUME paths no other mount covers become anonymous volumes.
	var paths []string
	for p := range imageVolumes {
		paths = append(paths, p)
	}
	for p := range cfg.Volumes {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range slices.Compact(paths) {
		if !path.IsAbs(p) {
			return nil, invalidParam("invalid volume specification: '%s': invalid mount config: destination %q is not an absolute path", p, p)
		}
		dst := path.Clean(p)
		if taken[dst] {
			continue
		}
		taken[dst] = true
		out = append(out, plannedVolume{VolumeMount: container.VolumeMount{Type: mount.TypeVolume, Destination: dst, RW: true, Anonymous: true, CopyData: true}})
	}
	for i := range out {
		if out[i].Type == mount.TypeVolume {
			if out[i].Anonymous {
				out[i].Name = volume.GenerateName()
			}
			out[i].Source = d.vols.Path(out[i].Name)
		}
	}
	return out, nil
}

// createVolumes makes the planned volumes that do not exist and takes
// c's reference on each. On error it undoes what it did.
func (d *Daemon) createVolumes(ctx context.Context, id string, planned []plannedVolume) (_ []container.VolumeMount, retErr error) {
	var made, acquired []string
	defer func() {
		if retErr == nil {
			return
		}
		for _, n := range acquired {
			d.vols.Release(n, id)
		}
		for _, n := range made {
			if d.vols.Remove(context.WithoutCancel(ctx), n, false) == nil {
				d.logVolumeEvent(n, eventtypes.ActionDestroy, nil)
			}
		}
	}()
	out := make([]container.VolumeMount, 0, len(planned))
	for _, p := range planned {
		if p.Type == mount.TypeVolume {
			labels := p.labels
			if p.Anonymous {
				labels = map[string]string{volume.AnonymousLabel: ""}
			}
			_, created, err := d.vols.CreateFor(ctx, id, p.Name, volume.DriverName, p.opts, labels)
			if err != nil {
				return nil, err
			}
			acquired = append(acquired, p.Name)
			if created {
				made = append(made, p.Name)
				d.logVolumeEvent(p.Name, eventtypes.ActionCreate, nil)
			}
		}
		out = append(out, p.VolumeMount)
	}
	return out, nil
}

// mountVolumes mounts c's volumes for a start and fills the fresh ones
// with the image's content at their path; rootfs is the mounted rootfs.
// The caller holds c's lock.
func (d *Daemon) mountVolumes(ctx context.Context, c *container.Container, rootfs string) (retErr error) {
	var done []string
	defer func() {
		if retErr != nil {
			for _, n := range done {
				_ = d.vols.Unmount(context.WithoutCancel(ctx), n, c.ID)
			}
		}
	}()
	changed := false
	for i := range c.Volumes {
		v := &c.Volumes[i]
		if v.Type != mount.TypeVolume {
			continue
		}
		p, err := d.vols.Mount(ctx, v.Name, c.ID)
		if err != nil {
			return err
		}
		done = append(done, v.Name)
		if v.CopyData {
			if err := copyImageContent(rootfs, v.Destination, p); err != nil {
				return fmt.Errorf("copying the image's %s into volume %s: %w", v.Destination, v.Name, err)
			}
			v.CopyData, changed = false, true
		}
		rw := "true"
		if !v.RW {
			rw = "false"
		}
		d.logVolumeEvent(v.Name, eventtypes.ActionMount, map[string]string{
			"container": c.ID, "destination": v.Destination, "propagation": string(v.Propagation), "read/write": rw,
		})
	}
	if changed {
		if err := d.containers.Save(c); err != nil {
			log.G(ctx).Warn("saving container after filling its volumes", "id", c.ID, "err", err)
		}
	}
	return nil
}

// unmountVolumes ends c's mounts of its volumes (at exit, or after a start
// that failed).
func (d *Daemon) unmountVolumes(ctx context.Context, c *container.Container, vols []container.VolumeMount) {
	for _, v := range vols {
		if v.Type != mount.TypeVolume || d.vols.Mounted(v.Name) == 0 {
			continue
		}
		if err := d.vols.Unmount(ctx, v.Name, c.ID); err != nil {
			log.G(ctx).Warn("unmounting volume", "volume", v.Name, "container", c.ID, "err", err)
		}
		d.logVolumeEvent(v.Name, eventtypes.ActionUnmount, map[string]string{"container": c.ID})
	}
}

// copyImageContent copies what the image has at dst (inside the mounted
// rootfs, symlinks resolved inside it) into an empty volume directory, as
// docker fills a fresh volume. A volume that has content, or an image
// without that directory, is left alone.
func copyImageContent(rootfs, dst, volDir string) error {
	src, err := securejoin.SecureJoin(rootfs, dst)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil || !st.IsDir() {
		return nil
	}
	ents, err := os.ReadDir(volDir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return nil
	}
	if err := archive.NewDefaultArchiver().CopyWithTar(src, volDir); err != nil {
		return err
	}
	// The volume's root takes the image directory's owner and mode, as
	// with dockerd (a /tmp volume stays 1777).
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(volDir, int(sys.Uid), int(sys.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(volDir, st.Mode().Perm()|st.Mode()&(os.ModeSticky|os.ModeSetgid|os.ModeSetuid))
}

// removeContainerVolumes drops c's references and, with rm -v, removes
// its anonymous volumes that nothing else uses.
func (d *Daemon) removeContainerVolumes(ctx context.Context, id string, vols []container.VolumeMount, removeAnonymous bool) {
	for _, v := range vols {
		if v.Type != mount.TypeVolume {
			continue
		}
		_ = d.vols.Unmount(ctx, v.Name, id)
		d.vols.Release(v.Name, id)
		if !removeAnonymous || !v.Anonymous {
			continue
		}
		if err := d.vols.Remove(ctx, v.Name, false); err != nil {
			if !errors.Is(err, errdefs.ErrConflict) && !errors.Is(err, errdefs.ErrNotFound) {
				log.G(ctx).Warn("removing anonymous volume", "volume", v.Name, "container", id, "err", err)
			}
			continue
		}
		d.logVolumeEvent(v.Name, eventtypes.ActionDestroy, nil)
	}
}

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	ntypes "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/image"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/logger"
	"github.com/berth-engine/berth/internal/logger/jsonfile"
	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/oci"
	"github.com/berth-engine/berth/internal/shim"
	"github.com/berth-engine/berth/internal/shim/shimapi"
	"github.com/berth-engine/berth/internal/snapshot"
)

// The container lifecycle. A container's files:
//
//	<data-root>/containers/<id>/config.v2.json   the record (container.Store)
//	<data-root>/containers/<id>/<id>-json.log    its json-file log (written by the shim)
//	<exec-root>/containers/<id>/config.json      the OCI bundle, rewritten at each start
//	<exec-root>/containers/<id>/rootfs           the overlay mount while it runs
//	<exec-root>/shims/<id>/                      the shim's socket and exit file
//
// The writable layer is the snapshot keyed by the container ID, prepared at
// create on the image's top layer and removed with the container. While a
// container runs, one goroutine (monitor) waits on its shim and records the
// exit; everything else reaches the shim through its socket, so no
// per-container state lives in memory beyond the record.

// pollInterval is how often waits re-read a record when no change was
// signalled: waits wake on container.Store.Changed, so this is a backstop
// only.
const pollInterval = 250 * time.Millisecond

// classedErr keeps an error's text (docker's wording) and adds the errdefs
// class its origin package expressed with its own sentinel.
type classedErr struct {
	err   error
	class error
}

func (e *classedErr) Error() string   { return e.err.Error() }
func (e *classedErr) Unwrap() []error { return []error{e.err, e.class} }

// classify maps the container, image and snapshot packages' error classes to
// errdefs, for the API edge.
func classify(err error) error {
	if err == nil {
		return nil
	}
	pairs := []struct{ from, to error }{
		{container.ErrNotFound, errdefs.ErrNotFound},
		{container.ErrConflict, errdefs.ErrConflict},
		{container.ErrInvalidParameter, errdefs.ErrInvalidParameter},
		{image.ErrNotFound, errdefs.ErrNotFound},
		{image.ErrConflict, errdefs.ErrConflict},
		{image.ErrInvalidParameter, errdefs.ErrInvalidParameter},
		{snapshot.ErrNotFound, errdefs.ErrNotFound},
		{snapshot.ErrInvalidArgument, errdefs.ErrInvalidParameter},
	}
	for _, p := range pairs {
		if errors.Is(err, p.from) {
			return &classedErr{err: err, class: p.to}
		}
	}
	return err
}

func (d *Daemon) bundleDir(id string) string { return filepath.Join(d.cfg.ExecRoot, "containers", id) }
func (d *Daemon) rootfsDir(id string) string { return filepath.Join(d.bundleDir(id), "rootfs") }

// getContainer finds a record by ID, name or prefix with docker's errors.
func (d *Daemon) getContainer(idOrName string) (*container.Container, error) {
	c, err := d.containers.Get(idOrName)
	return c, classify(err)
}

// ContainerCreate makes a container record from req: the image's config
// fills what the request leaves out, the values are checked by building
// the OCI spec once, and the writable layer is prepared.
func (d *Daemon) ContainerCreate(ctx context.Context, name string, req *ctypes.CreateRequest) (ctypes.CreateResponse, error) {
	resp := ctypes.CreateResponse{Warnings: []string{}}
	cfg, hc, name, err := checkCreateRequest(name, req)
	if err != nil {
		return resp, err
	}
	if rt := hc.Runtime; rt != "" {
		if _, ok := d.runtimes[rt]; !ok {
			return resp, errdefs.New(errdefs.ErrInvalidParameter, "Unknown runtime specified "+rt)
		}
	}
	if err := d.checkContainerRefs(hc); err != nil {
		return resp, err
	}
	netsPlanned, err := d.planNetworks(hc, req.NetworkingConfig)
	if err != nil {
		return resp, err
	}
	if hc.NetworkMode == "host" && cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname() // as dockerd: the host's name
	}
	// The daemon's log driver and options apply where the request names
	// none, and are recorded, as dockerd records them.
	if hc.LogConfig.Type == "" {
		hc.LogConfig.Type = d.cfg.LogDriver
		if len(hc.LogConfig.Config) == 0 && len(d.cfg.LogOpts) > 0 {
			hc.LogConfig.Config = maps.Clone(d.cfg.LogOpts)
		}
	}
	generated := name == ""
	if generated {
		name = container.GenerateName(d.containers.NameTaken)
	}
	imgInfo, err := d.images.Inspect(ctx, cfg.Image)
	if err != nil {
		return resp, classify(err)
	}
	parent, err := d.images.RootFS(ctx, imgInfo.ID)
	if err != nil {
		return resp, classify(err)
	}
	if imgInfo.Config != nil {
		mergeImageConfig(cfg, imgInfo.Config.Env, imgInfo.Config.Cmd, imgInfo.Config.Entrypoint,
			imgInfo.Config.WorkingDir, imgInfo.Config.User, imgInfo.Config.StopSignal, imgInfo.Config.Labels)
		// The image's EXPOSE joins the container's (what -P publishes).
		for p := range imgInfo.Config.ExposedPorts {
			port, err := ntypes.ParsePort(p)
			if err != nil {
				continue
			}
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = ntypes.PortSet{}
			}
			cfg.ExposedPorts[port] = struct{}{}
		}
	}
	// --entrypoint "" sends [""]: it kept the image's Cmd out of the merge
	// above and now means no entrypoint at all, as with dockerd.
	if len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "" {
		cfg.Entrypoint = nil
	}
	if len(cfg.Cmd) == 0 && len(cfg.Entrypoint) == 0 {
		return resp, errdefs.New(errdefs.ErrInvalidParameter, "no command specified")
	}
	var imageVolumes map[string]struct{}
	if imgInfo.Config != nil {
		imageVolumes = imgInfo.Config.Volumes
	}
	planned, err := d.planVolumes(cfg, hc, imageVolumes)
	if err != nil {
		return resp, err
	}
	// The image's VOLUME paths join the container's, as inspect shows
	// them with dockerd.
	for p := range imageVolumes {
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		cfg.Volumes[p] = struct{}{}
	}

	c := container.New(container.NewID(), name, cfg, hc, time.Now())
	if c.Config.Hostname == "" {
		// As dockerd: the short ID is the recorded hostname (inspect
		// shows it; the host network mode took the host's name above).
		c.Config.Hostname = container.ShortID(c.ID)
	}
	c.Image = imgInfo.ID
	c.ImageRef = cfg.Image
	c.Driver = "overlay2"
	c.LogPath = filepath.Join(d.containers.Dir(c.ID), c.ID+"-json.log")
	if networkKind(hc.NetworkMode) != netContainer {
		c.NetworkSettings = &ctypes.NetworkSettings{Networks: netsPlanned, Ports: ntypes.PortMap{}}
	}
	for _, p := range planned {
		c.Volumes = append(c.Volumes, p.VolumeMount)
	}

	host, ulimits, err := d.hostDefaults()
	if err != nil {
		return resp, err
	}
	if err := probeSpec(ctx, c, oci.SpecOpts{
		Host:             host,
		DefaultUlimits:   ulimits,
		ResolveContainer: d.resolveRunning,
		InitPath:         d.initPath(),
		DefaultInit:      d.cfg.Init,
		Warn:             func(m string) { resp.Warnings = append(resp.Warnings, m) },
	}); err != nil {
		return resp, err
	}

	if c.Volumes, err = d.createVolumes(ctx, c.ID, planned); err != nil {
		return resp, err
	}
	// The record is written (and synced) while the layer is prepared,
	// and put in place only once the layer is there: a crash leaves no
	// record without its layer (a layer without a record is swept at the
	// next start, a staged record removed).
	type staged struct {
		st  *container.Staged
		err error
	}
	stage := make(chan staged, 1)
	go func() {
		st, err := d.containers.Stage(c)
		stage <- staged{st, err}
	}()
	_, perr := d.snapshots.Prepare(ctx, c.ID, parent)
	sr := <-stage
	if perr != nil {
		if sr.st != nil {
			d.containers.Discard(sr.st)
		}
		d.removeContainerVolumes(context.WithoutCancel(ctx), c.ID, c.Volumes, true)
		return resp, fmt.Errorf("preparing the container's layer: %w", perr)
	}
	if sr.err == nil {
		err = d.containers.AddStaged(c, sr.st)
	} else {
		err = d.containers.Add(c)
	}
	// A generated name is only reserved here: a concurrent create may
	// have taken it meanwhile. Pick another rather than fail a request
	// that named nothing.
	for tries := 0; generated && errors.Is(err, container.ErrConflict) && tries < 10; tries++ {
		c.Name = container.GenerateName(d.containers.NameTaken)
		err = d.containers.Add(c)
	}
	if err != nil {
		_ = d.snapshots.Remove(context.WithoutCancel(ctx), c.ID)
		d.removeContainerVolumes(context.WithoutCancel(ctx), c.ID, c.Volumes, true)
		return resp, classify(err)
	}
	// The log exists from create on, so that an attach made before the
	// first start can follow it; the shim appends.
	if f, err := os.OpenFile(c.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640); err == nil {
		f.Close()
	}
	resp.ID = c.ID
	d.LogContainerEvent(c, eventtypes.ActionCreate, nil)
	log.G(ctx).Info("container created", "id", c.ID, "name", c.Name, "image", c.Image)
	return resp, nil
}

// hostDefaults reads the host's facts and the default ulimits that fit
// them: berth's nofile default lowered to the host's hard limit up front,
// so that a host with a low limit does not turn every create into a
// warning the user did not cause (dockerd adjusts its defaults silently
// too).
//
// The facts are read once: they are the daemon's own (its capability
// bounding set and rlimits, the cgroup version), which do not change while
// it runs, and reading them cost every create and start ~0.1 ms.
func (d *Daemon) hostDefaults() (*oci.Host, []*ctypes.Ulimit, error) {
	d.hostOnce.Do(func() { d.host, d.hostErr = oci.DetectHost() })
	host, err := d.host, d.hostErr
	if err != nil {
		return nil, nil, fmt.Errorf("reading host facts: %w", err)
	}
	n := uint64(oci.DefaultNofile)
	if hard, ok := host.HardLimits["nofile"]; ok && hard < n {
		n = hard
	}
	return host, []*ctypes.Ulimit{{Name: "nofile", Soft: int64(n), Hard: int64(n)}}, nil
}

// mergeImageConfig fills the container config from the image's, as docker
// does: the image's Cmd only when the request sets neither Cmd nor
// Entrypoint; Env merged by key with the request winning.
func mergeImageConfig(cfg *ctypes.Config, env, cmd, entrypoint []string, wd, user, stopSignal string, labels map[string]string) {
	if len(cfg.Entrypoint) == 0 {
		cfg.Entrypoint = entrypoint
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = cmd
		}
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = wd
	}
	if cfg.User == "" {
		cfg.User = user
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = stopSignal
	}
	if len(env) > 0 {
		merged := slices.Clone(env)
		for _, kv := range cfg.Env {
			k, _, _ := strings.Cut(kv, "=")
			merged = slices.DeleteFunc(merged, func(e string) bool {
				ek, _, _ := strings.Cut(e, "=")
				return ek == k
			})
			merged = append(merged, kv)
		}
		cfg.Env = merged
	}
	if len(labels) > 0 {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for k, v := range labels {
			if _, ok := cfg.Labels[k]; !ok {
				cfg.Labels[k] = v
			}
		}
	}
}

// resolveRunning gives the init pid of a running container, for
// "container:<id>" namespace modes.
func (d *Daemon) resolveRunning(idOrName string) (int, error) {
	c, err := d.containers.Get(idOrName)
	if err != nil {
		return 0, err
	}
	c.Lock()
	defer c.Unlock()
	if !c.State.Running || c.State.Pid == 0 {
		return 0, container.Classed(container.ErrConflict, fmt.Sprintf("cannot join namespaces of a non running container: container %s is not running", c.ID))
	}
	return c.State.Pid, nil
}

// ContainerStart starts a created or exited container. Already running is
// errdefs.ErrNotModified (304).
func (d *Daemon) ContainerStart(ctx context.Context, idOrName string) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	if err := c.CanStart(); err != nil {
		c.Unlock()
		if errors.Is(err, container.ErrAlreadyRunning) {
			return errdefs.New(errdefs.ErrNotModified, "container already started")
		}
		return classify(err)
	}
	cl, err := d.startLocked(ctx, c)
	if err != nil {
		c.SetStartError(err, 0)
		if serr := d.containers.Save(c); serr != nil {
			log.G(ctx).Error("saving container after a failed start", "id", c.ID, "err", serr)
		}
		auto := c.HostConfig.AutoRemove
		c.Unlock()
		// As dockerd does: an AutoRemove container that cannot start is
		// removed at once (a `run --rm` client waits for its removal).
		if auto {
			if rerr := d.ContainerRemove(ctx, c.ID, true, true); rerr != nil {
				log.G(ctx).Error("auto-remove after a failed start", "id", c.ID, "err", rerr)
			}
		}
		return classify(err)
	}
	c.Unlock()
	// The monitor outlives the request: it keeps the request's logger only.
	go d.monitor(log.WithLogger(context.Background(), log.G(ctx)), c.ID, cl)
	return nil
}

// startLocked mounts the rootfs, writes the bundle, starts the shim and the
// container, and records it running. On failure it undoes what it did.
func (d *Daemon) startLocked(ctx context.Context, c *container.Container) (_ *shim.Client, retErr error) {
	d.releases.wait(ctx, c.ID) // the previous run's shim
	ms, err := d.snapshots.Mounts(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s layer: %w", c.ID, err)
	}
	bundle, rootfs := d.bundleDir(c.ID), d.rootfsDir(c.ID)
	if err := os.MkdirAll(rootfs, 0o711); err != nil {
		return nil, err
	}
	_ = mount.UnmountAll(rootfs) // a mount left by a crash
	if err := mountRootfs(ms, rootfs, c.HostConfig.AutoRemove); err != nil {
		return nil, fmt.Errorf("mounting the container's rootfs: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = mount.UnmountAll(rootfs)
		}
	}()
	if err := d.mountVolumes(ctx, c, rootfs); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			d.unmountVolumes(context.WithoutCancel(ctx), c, c.Volumes)
		}
	}()
	host, ulimits, err := d.hostDefaults()
	if err != nil {
		return nil, err
	}
	nf, err := d.setupNetwork(ctx, c)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			d.teardownNetwork(context.WithoutCancel(ctx), c)
		}
	}()
	spec, err := oci.Spec(ctx, c, oci.SpecOpts{
		Host:           host,
		DefaultUlimits: ulimits,
		RootfsPath:     rootfs,
		NetnsPath:      nf.NetnsPath,
		HostsPath:      nf.HostsPath,
		ResolvConfPath: nf.ResolvConfPath,
		HostnamePath:   nf.HostnamePath,
		InitPath:       d.initPath(),
		DefaultInit:    d.cfg.Init,
		ResolveContainer: func(ref string) (int, error) {
			// c's lock is held here: naming c itself must fail, not wait.
			if other, err := d.containers.Get(ref); err == nil && other == c {
				return 0, container.Classed(container.ErrInvalidParameter, "cannot join own namespaces")
			}
			return d.resolveRunning(ref)
		},
		Warn: func(m string) { log.G(ctx).Warn(m, "container", c.ID) },
	})
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return nil, err
	}
	if c.LogPath == "" {
		c.LogPath = filepath.Join(d.containers.Dir(c.ID), c.ID+"-json.log")
	}
	// The shim drives the OCI runtime as a binary: the container's
	// runtime (docker run --runtime), else the default.
	rtName := c.HostConfig.Runtime
	if rtName == "" {
		rtName = d.cfg.DefaultRuntime
	}
	rt, ok := d.runtimes[rtName]
	if !ok {
		return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("unknown or invalid runtime name: %s", rtName))
	}
	// The endpoints (veth, addresses, routes, the network's record:
	// ~2 ms) are set up while the shim has the runtime create the
	// container, which waits for its start; first only when the runtime
	// needs the interfaces at create (their sysctls).
	var netDone chan error
	if nf.Attach != nil {
		if interfaceSysctls(spec) {
			if err := nf.Attach(); err != nil {
				return nil, err
			}
		} else {
			netDone = make(chan error, 1)
			go func() { netDone <- nf.Attach() }()
		}
	}
	cl, err := shim.Start(ctx, shim.Options{
		ID: c.ID, Bundle: bundle, ExecRoot: d.cfg.ExecRoot, Runtime: rt.Path,
		LogPath: c.LogPath, LogOpts: c.HostConfig.LogConfig.Config, LogDriver: logDriver(c.HostConfig),
		Terminal: spec.Process.Terminal, Stdin: c.Config.OpenStdin,
	})
	if netDone != nil {
		if nerr := <-netDone; nerr != nil && err == nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_, _ = cl.Delete(dctx, true)
			cancel()
			return nil, nerr
		}
	}
	if err != nil {
		return nil, err
	}
	// Attaches made before the start get the output from its first byte.
	d.wireAttaches(ctx, c.ID, cl)
	// The record says running before the start is asked for, and is
	// written while the shim runs the runtime's start: its fsync (of the
	// file; not of the directory: the old record or the new one survives
	// a crash) is off the response's path. A daemon killed before the
	// start got through finds the record running beside a shim whose
	// container is still created, and RestoreContainers finishes the
	// start; one killed before the write landed finds the record
	// "created" beside a started container, which settleStrayShims
	// adopts.
	prevState, prevStarted, prevStopped := c.State, c.HasBeenStartedBefore, c.HasBeenManuallyStopped
	c.SetRunning(cl.Pid(), time.Now())
	saved := make(chan error, 1)
	d.containers.SaveLater(c, func(err error) { saved <- err })
	if err := cl.Start(ctx); err != nil {
		<-saved
		c.State, c.HasBeenStartedBefore, c.HasBeenManuallyStopped = prevState, prevStarted, prevStopped
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, _ = cl.Delete(dctx, true)
		cancel()
		return nil, err
	}
	if err := <-saved; err != nil {
		log.G(ctx).Error("saving running container", "id", c.ID, "err", err)
	}
	d.execs.setBase(c.ID, execBase{proc: spec.Process, host: host})
	d.startHealth(c)
	d.logContainerEventLocked(c, eventtypes.ActionStart, nil)
	log.G(ctx).Info("container started", "id", c.ID, "pid", cl.Pid())
	return cl, nil
}

// mountRootfs mounts the container's layer on rootfs. An AutoRemove
// container's overlay is volatile (kernel 5.10+; without it, a plain
// mount): its layer is thrown away at the exit, so nothing in it needs to
// reach the disk, and without the option the overlay's unmount syncs the
// whole upper filesystem (2-3 ms here, each run --rm, contending with
// whatever comes next). A volatile overlay cut off by a crash cannot be
// mounted again, which an AutoRemove container's layer never is: restore
// removes it.
func mountRootfs(ms []mount.Mount, rootfs string, autoRemove bool) error {
	if autoRemove && len(ms) == 1 && ms[0].Type == "overlay" {
		v := ms[0]
		v.Options = append(slices.Clone(v.Options), "volatile")
		if err := v.Mount(rootfs); err == nil {
			return nil
		}
	}
	return mount.All(ms, rootfs)
}

// monitor waits for the container's exit, records it, releases the shim
// (which removes the runtime's state and cgroup) and the rootfs mount, and
// removes the container when AutoRemove says so.
func (d *Daemon) monitor(ctx context.Context, id string, cl *shim.Client) {
	code, at := 255, time.Now()
	if exit, err := cl.Wait(ctx); err == nil {
		code, at = exit.Code, exit.At
	} else if exit, ferr := shim.ReadExitFile(d.cfg.ExecRoot, id); ferr == nil {
		code, at = exit.Code, exit.At
	} else {
		log.G(ctx).Warn("shim lost without an exit status", "id", id, "err", err)
	}
	d.recordExit(ctx, id, cl, code, at)
}

func (d *Daemon) recordExit(ctx context.Context, id string, cl *shim.Client, code int, at time.Time) {
	oom := d.exitedByOOM(id) // before the shim's delete removes the cgroup
	d.health.stop(id)
	c, err := d.containers.Get(id)
	// An AutoRemove container's layer goes in the background after its
	// record (removeContainer): its unmount is not waited for here either.
	autoRemove := false
	if err == nil {
		c.Lock()
		autoRemove = c.HostConfig.AutoRemove && !c.State.RemovalInProgress && !shouldRestart(c, code)
		c.Unlock()
	}
	if err == nil && privatePids(c) {
		// Every process of the container died with its init: nothing
		// holds the rootfs, and the shim's delete can finish on its own.
		d.release(ctx, id, cl)
	} else {
		// Processes outside the init's pid namespace may live on: they are
		// killed before the rootfs is unmounted.
		d.releaseNow(ctx, id, cl)
	}
	if !autoRemove {
		_ = mount.UnmountAll(d.rootfsDir(id))
	}
	if err != nil {
		return
	}
	c.Lock()
	vols := slices.Clone(c.Volumes)
	d.teardownNetwork(ctx, c)
	c.Unlock()
	d.unmountVolumes(ctx, c, vols)
	c.Lock()
	removing := c.State.RemovalInProgress
	ran := at.Sub(c.State.StartedAt)
	c.SetStopped(code, oom, at)
	restart := !removing && shouldRestart(c, code)
	if removing {
		c.State.RemovalInProgress = true
		c.State.Status = ctypes.StateRemoving
	} else if restart {
		c.SetRestarting(code, at)
	}
	auto := c.HostConfig.AutoRemove && !removing
	if auto && !restart {
		// The removal below deletes the record: the exited state is
		// not written, only shown to waiters. A daemon killed before
		// the removal finds the record running and its shim gone or
		// stopped, and RestoreContainers records the exit and removes
		// it then.
		d.containers.Notify()
	} else if err := d.containers.Save(c); err != nil {
		log.G(ctx).Error("saving exited container", "id", id, "err", err)
	}
	if oom {
		d.logContainerEventLocked(c, eventtypes.ActionOOM, nil)
	}
	d.logContainerEventLocked(c, eventtypes.ActionDie, map[string]string{
		"exitCode": strconv.Itoa(code), "execDuration": strconv.Itoa(int(ran.Seconds())),
	})
	delay := restartDelay(c.RestartCount, ran)
	c.Unlock()
	log.G(ctx).Info("container exited", "id", id, "code", code, "restart", restart)
	if restart {
		rctx := context.WithoutCancel(ctx)
		time.AfterFunc(delay, func() { d.restart(rctx, c) })
		return
	}
	if auto {
		// --rm takes the anonymous volumes along, as with dockerd.
		// Not waiting for the shim's release: a `run --rm` client waits
		// for the record's removal only; the release finishes on its own.
		if err := d.removeContainer(ctx, id, true, true, true); err != nil {
			log.G(ctx).Error("auto-remove", "id", id, "err", err)
		}
	}
}

// privatePids reports whether c's processes all live in its own pid
// namespace (they die with the init).
func privatePids(c *container.Container) bool {
	c.Lock()
	defer c.Unlock()
	return c.HostConfig.PidMode == ""
}

// shouldRestart applies the restart policy to an exit; a container stopped
// by the user is never restarted. The caller holds c's lock.
func shouldRestart(c *container.Container, code int) bool {
	if c.HasBeenManuallyStopped {
		return false
	}
	rp := c.HostConfig.RestartPolicy
	switch {
	case rp.IsAlways(), rp.IsUnlessStopped():
		return true
	case rp.IsOnFailure():
		return code != 0 && (rp.MaximumRetryCount == 0 || c.RestartCount < rp.MaximumRetryCount)
	}
	return false
}

// restartDelay is docker's back-off: 100 ms doubling with each restart up to
// a minute, back to 100 ms once a run lasted 10 s.
func restartDelay(restarts int, ran time.Duration) time.Duration {
	const base, ceiling = 100 * time.Millisecond, time.Minute
	if ran >= 10*time.Second || restarts <= 1 {
		return base
	}
	d := base << min(restarts-1, 10)
	return min(d, ceiling)
}

// restart starts a container the restart policy brought back, unless a stop
// or remove came first.
func (d *Daemon) restart(ctx context.Context, c *container.Container) {
	c.Lock()
	defer c.Unlock()
	if !c.State.Restarting || c.State.RemovalInProgress || c.HasBeenManuallyStopped {
		return
	}
	cl, err := d.startLocked(ctx, c)
	if err != nil {
		log.G(ctx).Error("restart", "id", c.ID, "err", err)
		c.State.Running, c.State.Restarting = false, false
		c.State.Status = ctypes.StateExited
		c.SetStartError(err, 0)
		_ = d.containers.Save(c)
		return
	}
	go d.monitor(ctx, c.ID, cl)
}

// stopRestarting ends a restart back-off: the container is recorded exited
// with its last status. The caller holds c's lock.
func (d *Daemon) stopRestarting(c *container.Container) {
	c.HasBeenManuallyStopped = true
	c.SetStopped(c.State.ExitCode, false, c.State.FinishedAt)
	_ = d.containers.Save(c)
}

// validateRestartPolicy checks the policy as docker does at create.
func validateRestartPolicy(hc *ctypes.HostConfig) error {
	rp := hc.RestartPolicy
	switch {
	case rp.IsNone(), rp.IsAlways(), rp.IsUnlessStopped(), rp.IsOnFailure():
	default:
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", rp.Name))
	}
	if rp.MaximumRetryCount < 0 {
		return errdefs.New(errdefs.ErrInvalidParameter, "invalid restart policy: maximum retry count cannot be negative")
	}
	if rp.MaximumRetryCount > 0 && !rp.IsOnFailure() {
		return errdefs.New(errdefs.ErrInvalidParameter, "invalid restart policy: maximum retry count can only be used with 'on-failure'")
	}
	if hc.AutoRemove && !rp.IsNone() {
		return errdefs.New(errdefs.ErrInvalidParameter, "can't create 'AutoRemove' container with restart policy")
	}
	return nil
}

// RestoreContainers reconnects monitors to the shims of the containers
// recorded running; a container whose shim is gone is recorded exited with
// the status from its exit file (255 when there is none).
// New calls it once, before the API serves.
func (d *Daemon) RestoreContainers(ctx context.Context) {
	d.settleStrayShims(ctx)
	// The volume mounts of the containers recorded running outlived
	// berthd: all are recorded first, so that an exit found below does not
	// unmount a volume another of them still uses.
	for _, c := range d.containers.List() {
		c.Lock()
		if c.State.Running {
			for _, v := range c.Volumes {
				d.vols.Reattach(v.Name, c.ID)
			}
		}
		c.Unlock()
	}
	for _, c := range d.containers.List() {
		c.Lock()
		running := c.State.Running
		c.Unlock()
		if !running {
			continue
		}
		// A shim that does not answer in time is treated as gone.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cl, err := shim.Connect(cctx, shimapi.SocketPath(d.cfg.ExecRoot, c.ID))
		if err == nil {
			st, serr := cl.State(cctx)
			if serr == nil && st.Status == shimapi.StatusCreated {
				// The record is written running before the start is
				// asked for: a daemon that died in between left the
				// start to finish.
				if serr = cl.Start(cctx); serr == nil {
					log.G(ctx).Warn("container found created though recorded running: started", "id", c.ID)
					st.Status = shimapi.StatusRunning
				} else {
					log.G(ctx).Warn("finishing an interrupted start", "id", c.ID, "err", serr)
				}
			}
			if serr == nil && st.Status != shimapi.StatusStopped {
				cancel()
				log.G(ctx).Info("container reattached", "id", c.ID, "pid", st.Pid)
				c.Lock()
				if st.Status == shimapi.StatusPaused {
					c.SetPaused()
				}
				d.restartHealth(c)
				c.Unlock()
				go d.monitor(context.WithoutCancel(ctx), c.ID, cl)
				continue
			}
		}
		cancel()
		code, at := 255, time.Now()
		if exit, ferr := shim.ReadExitFile(d.cfg.ExecRoot, c.ID); ferr == nil {
			code, at = exit.Code, exit.At
		}
		d.recordExit(ctx, c.ID, cl, code, at)
	}
}

// ParseSignal accepts docker's forms: "SIGTERM", "TERM", "term", "15".
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("Invalid signal: %s", s))
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("Invalid signal: %s", s))
}

// waitStopped waits until c is not running or timeout passes (a negative
// timeout waits for ctx only). It reports whether c stopped.
func (d *Daemon) waitStopped(ctx context.Context, c *container.Container, timeout time.Duration) bool {
	var deadline <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		changed := d.containers.Changed()
		c.Lock()
		running := c.State.Running
		c.Unlock()
		if !running {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline:
			return false
		case <-changed:
		case <-tick.C:
		}
	}
}

func (d *Daemon) shimOf(ctx context.Context, id string) (*shim.Client, error) {
	return shim.Connect(ctx, shimapi.SocketPath(d.cfg.ExecRoot, id))
}

func ignoreNotRunning(err error) error {
	var se *shimapi.Error
	if errors.As(err, &se) && se.Kind == shimapi.ErrKindNotRunning {
		return nil
	}
	return err
}

// ContainerStop sends the stop signal (StopSignal, else SIGTERM), waits
// timeout seconds (nil: StopTimeout, else 10; -1: forever), then SIGKILLs.
// A stopped container is errdefs.ErrNotModified.
func (d *Daemon) ContainerStop(ctx context.Context, idOrName string, timeout *int, signal string) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	if !c.CanStop() {
		c.Unlock()
		return errdefs.New(errdefs.ErrNotModified, "container already stopped")
	}
	if signal == "" {
		signal = c.Config.StopSignal
	}
	secs := 10
	if c.Config.StopTimeout != nil {
		secs = *c.Config.StopTimeout
	}
	if timeout != nil {
		secs = *timeout
	}
	if c.State.Restarting {
		d.stopRestarting(c)
		d.logContainerEventLocked(c, eventtypes.ActionStop, nil)
		c.Unlock()
		return nil
	}
	c.HasBeenManuallyStopped = true
	_ = d.containers.Save(c)
	c.Unlock()
	sig := syscall.SIGTERM
	if signal != "" {
		if sig, err = ParseSignal(signal); err != nil {
			return err
		}
	}
	if err := d.stop(ctx, c, sig, time.Duration(secs)*time.Second); err != nil {
		return err
	}
	d.LogContainerEvent(c, eventtypes.ActionStop, nil)
	return nil
}

func (d *Daemon) stop(ctx context.Context, c *container.Container, sig syscall.Signal, grace time.Duration) error {
	if grace < 0 {
		grace = -1 // wait for ctx only
	}
	cl, err := d.shimOf(ctx, c.ID)
	if err != nil {
		// The shim is gone: the monitor records the exit.
		if d.waitStopped(ctx, c, 5*time.Second) {
			return nil
		}
		return fmt.Errorf("container %s: %w", c.ID, err)
	}
	// The container may exit on its own meanwhile, and its shim with it:
	// a kill that fails because it is gone has nothing left to do.
	kill := func(sig syscall.Signal, all bool) error {
		err := ignoreNotRunning(cl.Kill(ctx, sig, all))
		if err != nil && d.waitStopped(ctx, c, 2*time.Second) {
			return nil
		}
		return err
	}
	if sig != syscall.SIGKILL {
		if err := kill(sig, false); err != nil {
			return err
		}
		d.logKill(c, sig)
		if d.waitStopped(ctx, c, grace) {
			return nil
		}
	}
	if err := kill(syscall.SIGKILL, true); err != nil {
		return err
	}
	d.logKill(c, syscall.SIGKILL)
	if !d.waitStopped(ctx, c, 30*time.Second) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("container %s did not exit after SIGKILL", c.ID)
	}
	return nil
}

// ContainerKill sends signal (default SIGKILL) to the container's init.
func (d *Daemon) ContainerKill(ctx context.Context, idOrName, signal string) error {
	sig := syscall.SIGKILL
	if signal != "" {
		var err error
		if sig, err = ParseSignal(signal); err != nil {
			return err
		}
	}
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	err = c.CanKill()
	c.Unlock()
	if err != nil {
		return classify(err)
	}
	cl, err := d.shimOf(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.ID, err)
	}
	if err := ignoreNotRunning(cl.Kill(ctx, sig, false)); err != nil {
		return err
	}
	d.logKill(c, sig)
	if sig == syscall.SIGKILL {
		d.waitStopped(ctx, c, 10*time.Second)
	}
	return nil
}

// ContainerWait checks the container exists and returns a channel that
// gets its exit status once cond holds (not-running, next-exit, removed),
// or is closed without a value when ctx ends first.
func (d *Daemon) ContainerWait(ctx context.Context, idOrName string, cond ctypes.WaitCondition) (<-chan ctypes.WaitResponse, error) {
	switch cond {
	case "", ctypes.WaitConditionNotRunning, ctypes.WaitConditionNextExit, ctypes.WaitConditionRemoved:
	default:
		return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid condition: %q", cond))
	}
	c, err := d.getContainer(idOrName)
	if err != nil {
		return nil, err
	}
	c.Lock()
	startFinished := c.State.FinishedAt
	c.Unlock()
	out := make(chan ctypes.WaitResponse, 1)
	go func() {
		defer close(out)
		tick := time.NewTicker(pollInterval)
		defer tick.Stop()
		for {
			changed := d.containers.Changed()
			c.Lock()
			st := c.State
			c.Unlock()
			done := false
			switch cond {
			case ctypes.WaitConditionNextExit:
				done = !st.Running && !st.FinishedAt.Equal(startFinished)
			case ctypes.WaitConditionRemoved:
				_, err := d.containers.Get(c.ID)
				done = err != nil
			default:
				done = !st.Running
			}
			if done {
				out <- ctypes.WaitResponse{StatusCode: int64(st.ExitCode)}
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-tick.C:
			}
		}
	}()
	return out, nil
}

// ContainerRemove removes a container: a running one only with force
// (killed first), then its writable layer, bundle and record.
func (d *Daemon) ContainerRemove(ctx context.Context, idOrName string, force, removeVolumes bool) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	if err := d.removeContainer(ctx, c.ID, force, removeVolumes, false); err != nil {
		return err
	}
	// An explicit remove returns with the runtime's state and cgroups gone
	// too, as `docker rm` does.
	d.releases.wait(ctx, c.ID)
	return nil
}

// removeContainer is ContainerRemove without waiting for the shim's
// release.
//
// With layerInBackground (AutoRemove) the container's rootfs unmount, its
// snapshot and its bundle directory go after the record, in the background;
// a daemon that dies before they are gone removes them at its next start
// (sweepOrphanLayers).
func (d *Daemon) removeContainer(ctx context.Context, idOrName string, force, removeVolumes, layerInBackground bool) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	if err := c.SetRemoving(force); err != nil {
		c.Unlock()
		return classify(err)
	}
	if c.State.Restarting {
		d.stopRestarting(c)
		c.State.RemovalInProgress = true
		c.State.Status = ctypes.StateRemoving
	}
	running := c.State.Running
	if running {
		_ = d.containers.Save(c)
	} else {
		// Nothing slow comes before the Delete but the layer's removal,
		// whose failure is recorded (SetDead): the removing state is not
		// written. A daemon killed meanwhile finds the record as it was
		// (exited), which can be removed again; a record written
		// "removing" could not be.
		d.containers.Notify()
	}
	c.Unlock()
	if running {
		if err := d.stop(ctx, c, syscall.SIGKILL, 0); err != nil {
			c.Lock()
			c.ResetRemoving()
			_ = d.containers.Save(c)
			c.Unlock()
			return fmt.Errorf("could not kill container %s: %w", c.ID, err)
		}
	}
	if layerInBackground {
		d.discards.start(func() { d.discardLayer(context.WithoutCancel(ctx), c.ID) })
	} else {
		_ = mount.UnmountAll(d.rootfsDir(c.ID))
		if err := d.snapshots.Remove(ctx, c.ID); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
			c.Lock()
			c.SetDead()
			_ = d.containers.Save(c)
			c.Unlock()
			return fmt.Errorf("removing the layer of container %s: %w", c.ID, err)
		}
		_ = os.RemoveAll(d.bundleDir(c.ID))
	}
	if !d.releases.pending(c.ID) {
		_ = os.RemoveAll(shimapi.Dir(d.cfg.ExecRoot, c.ID)) // leftovers of a crash
	}
	d.execs.dropContainer(c.ID)
	for _, p := range d.attaches.take(c.ID) {
		p.deliver(nil)
	}
	// The destroy event before the record goes, as dockerd logs it
	// before it answers the waits for the removal: a `run --rm` client
	// that returns finds it in the events.
	d.LogContainerEvent(c, eventtypes.ActionDestroy, nil)
	if err := d.containers.Delete(c.ID); err != nil {
		return classify(err)
	}
	c.Lock()
	vols := slices.Clone(c.Volumes)
	c.Unlock()
	d.removeContainerVolumes(ctx, c.ID, vols, removeVolumes)
	log.G(ctx).Info("container removed", "id", c.ID)
	return nil
}

// ContainerRestart stops the container if it runs (as ContainerStop) and
// starts it again.
func (d *Daemon) ContainerRestart(ctx context.Context, idOrName string, timeout *int, signal string) error {
	if err := d.ContainerStop(ctx, idOrName, timeout, signal); err != nil && !errors.Is(err, errdefs.ErrNotModified) {
		return err
	}
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	c.HasBeenManuallyStopped = false
	c.Unlock()
	if err := d.ContainerStart(ctx, c.ID); err != nil && !errors.Is(err, errdefs.ErrNotModified) {
		return err
	}
	d.LogContainerEvent(c, eventtypes.ActionRestart, nil)
	return nil
}

// ContainerRename gives the container a new name; docker's errors for an
// invalid, unchanged or taken name.
func (d *Daemon) ContainerRename(ctx context.Context, idOrName, newName string) error {
	if newName == "" {
		return errdefs.New(errdefs.ErrInvalidParameter, "Neither old nor new names may be empty")
	}
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	oldName := c.Name
	c.Unlock()
	if err := d.containers.Rename(c, newName); err != nil {
		return classify(err)
	}
	d.renameEndpoints(c)
	d.LogContainerEvent(c, eventtypes.ActionRename, map[string]string{"oldName": oldName})
	return nil
}

// ContainerInspect returns the container in docker's inspect shape.
func (d *Daemon) ContainerInspect(ctx context.Context, idOrName string) (*ctypes.InspectResponse, error) {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return nil, err
	}
	var opts container.InspectOptions
	if name, data, err := d.snapshots.DriverData(ctx, c.ID); err == nil {
		opts.GraphDriver = &storage.DriverData{Name: name, Data: data}
	}
	c.Lock()
	defer c.Unlock()
	return c.ToInspect(opts), nil
}

// ContainerList returns the containers in docker's list shape, newest
// first: running ones unless all, at most limit when positive, matching
// filters (name, id, status, label, ancestor, exited).
func (d *Daemon) ContainerList(ctx context.Context, all bool, limit int, filters map[string][]string) ([]ctypes.Summary, error) {
	for k := range filters {
		switch k {
		case "name", "id", "status", "label", "ancestor", "exited", "volume", "network":
		default:
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	if len(filters["status"]) > 0 || len(filters["exited"]) > 0 {
		all = true
	}
	now := time.Now()
	out := []ctypes.Summary{}
	for _, c := range d.containers.List() {
		c.Lock()
		s := c.ToSummary(now)
		running := c.State.Running
		exitCode := c.State.ExitCode
		onNet := len(filters["network"]) == 0 || slices.ContainsFunc(filters["network"], func(v string) bool { return containerOnNetwork(c, v) })
		c.Unlock()
		if !all && !running {
			continue
		}
		if !onNet {
			continue
		}
		if !matchFilters(filters, s, exitCode) {
			continue
		}
		out = append(out, s)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

func matchFilters(f map[string][]string, s ctypes.Summary, exitCode int) bool {
	anyOf := func(key string, match func(v string) bool) bool {
		vs := f[key]
		if len(vs) == 0 {
			return true
		}
		return slices.ContainsFunc(vs, match)
	}
	return anyOf("name", func(v string) bool {
		return slices.ContainsFunc(s.Names, func(n string) bool { return strings.Contains(n, strings.TrimPrefix(v, "/")) })
	}) && anyOf("id", func(v string) bool { return strings.HasPrefix(s.ID, v) }) &&
		anyOf("status", func(v string) bool { return string(s.State) == v }) &&
		anyOf("ancestor", func(v string) bool {
			return s.Image == v || s.ImageID == v || strings.HasPrefix(s.ImageID, "sha256:"+v)
		}) &&
		anyOf("exited", func(v string) bool { return s.State == ctypes.StateExited && strconv.Itoa(exitCode) == v }) &&
		anyOf("volume", func(v string) bool {
			// a volume's name, or a mount's source or destination, as dockerd
			return slices.ContainsFunc(s.Mounts, func(m ctypes.MountPoint) bool {
				return m.Name == v || m.Source == v || m.Destination == v
			})
		}) &&
		anyOf("label", func(v string) bool {
			k, val, hasVal := strings.Cut(v, "=")
			got, ok := s.Labels[k]
			return ok && (!hasVal || got == val)
		})
}

// ContainerLogs returns a reader of the container's json-file log and
// whether it runs with a TTY (no stream framing then).
func (d *Daemon) ContainerLogs(ctx context.Context, idOrName string) (logger.Reader, bool, error) {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return nil, false, err
	}
	c.Lock()
	defer c.Unlock()
	if t := logDriver(c.HostConfig); t != container.DefaultLogDriver {
		return nil, false, errdefs.New(errdefs.ErrInvalidParameter, "configured logging driver does not support reading")
	}
	maxFile := 1
	if v, ok := c.HostConfig.LogConfig.Config["max-file"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			maxFile = n
		}
	}
	path := c.LogPath
	if path == "" {
		path = filepath.Join(d.containers.Dir(c.ID), c.ID+"-json.log")
	}
	return jsonfile.NewReader(path, maxFile), c.Config.Tty, nil
}

// logDriver is the log driver hc names: json-file unless it says none (the
// only two berth has; create refuses others).
func logDriver(hc *ctypes.HostConfig) string {
	if hc != nil && hc.LogConfig.Type == "none" {
		return "none"
	}
	return container.DefaultLogDriver
}

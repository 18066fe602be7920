package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/system"

	"github.com/berth-engine/berth/internal/atomicfile"
	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/daemon/config"
	"github.com/berth-engine/berth/internal/events"
	"github.com/berth-engine/berth/internal/image"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/oci"
	"github.com/berth-engine/berth/internal/snapshot/overlay"
	"github.com/berth-engine/berth/internal/volume"
)

// Daemon is the running engine. Build it with New and release it with Close.
type Daemon struct {
	cfg      *config.Config
	id       string
	lock     *os.File // held open: its flock keeps a second berthd off the data root
	runtimes map[string]system.Runtime
	started  time.Time

	// The stores, under the data root (DESIGN §3): blobs by digest,
	// overlay snapshots keyed by chain ID, image metadata, container
	// records.
	content    *content.Local
	snapshots  *overlay.Snapshotter
	images     *image.Store
	containers *container.Store
	vols       *volume.Store

	events *events.Log // recent events and their subscribers

	net *netState // networks, endpoints, namespaces (network.go)

	// In memory only, as in dockerd: attaches waiting for a start, execs,
	// health-check loops.
	attaches attachSet
	execs    execSet
	health   healthSet
	releases releaseSet
	discards discardSet // AutoRemove layers going in the background

	hostOnce sync.Once // the host's facts, read once (hostDefaults)
	host     *oci.Host
	hostErr  error
}

// New prepares the data root (0711) and the exec root (0700), takes the
// data root's lock (a second daemon on the same root gets an error naming
// the pid that holds it), and loads or creates the engine ID. When ctx
// ends, the event streams end (the daemon is shutting down).
func New(ctx context.Context, cfg *config.Config) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		path string
		mode os.FileMode
	}{{cfg.DataRoot, 0o711}, {cfg.ExecRoot, 0o700}} {
		if err := makeRoot(r.path, r.mode); err != nil {
			return nil, err
		}
	}
	lock, err := lockRoot(cfg.DataRoot)
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, lock: lock, started: time.Now()}
	// The recent events survive a restart in <data-root>/events.log.
	if d.events, err = events.Open(filepath.Join(cfg.DataRoot, "events.log"), events.DefaultRingSize); err != nil {
		log.G(ctx).Warn("event journal unusable: recent events are kept in memory only", "err", err)
		d.events = events.New(events.DefaultRingSize)
	}
	// berthd's ctx ends at SIGTERM: event streams end then, so that they do
	// not hold the server's graceful shutdown until its timeout.
	context.AfterFunc(ctx, d.events.Close)
	if d.id, err = engineID(cfg.DataRoot); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.openStores(ctx); err != nil {
		d.Close()
		return nil, err
	}
	d.runtimes = findRuntimes(cfg)
	d.initNetworking(ctx)
	d.RestoreContainers(ctx)
	d.sweepOrphanLayers(ctx)
	d.restoreNetworking(ctx)
	// Volumes mounted from options that no container holds any more (a
	// crash between a container's exit and their unmount).
	d.vols.UnmountUnused(ctx)
	if _, ok := d.runtimes[cfg.DefaultRuntime]; !ok {
		// The API still serves; containers will fail to start, and /info
		// says why.
		log.G(ctx).Warn(d.missingRuntime())
	}
	log.G(ctx).Info("daemon ready", "id", d.id, "data-root", cfg.DataRoot, "exec-root", cfg.ExecRoot, "default-runtime", cfg.DefaultRuntime)
	return d, nil
}

// Close releases the data root's lock. The lock file stays, so that the
// next daemon finds the same file.
func (d *Daemon) Close() error {
	d.releases.waitAll(10 * time.Second)
	d.discards.waitAll(10 * time.Second)
	if d.containers != nil {
		d.containers.Flush()
	}
	d.closeNetworking(context.Background())
	if d.events != nil {
		d.events.Close()
		_ = d.events.CloseJournal()
	}
	if d.images != nil {
		_ = d.images.Close()
		d.images = nil
	}
	if d.snapshots != nil {
		_ = d.snapshots.Close()
		d.snapshots = nil
	}
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close()
	d.lock = nil
	return err
}

// openStores opens the content store, the overlay snapshotter, the image
// store and the container records under the data root. A container record
// that cannot be read is logged and skipped, never fatal.
func (d *Daemon) openStores(ctx context.Context) error {
	root := d.cfg.DataRoot
	var err error
	if d.content, err = content.NewLocal(filepath.Join(root, "content")); err != nil {
		return fmt.Errorf("content store: %w", err)
	}
	if d.snapshots, err = overlay.New(ctx, filepath.Join(root, "overlay2")); err != nil {
		return fmt.Errorf("overlay snapshotter: %w", err)
	}
	var bad []*container.LoadError
	if d.containers, bad, err = container.Open(filepath.Join(root, "containers")); err != nil {
		return fmt.Errorf("container store: %w", err)
	}
	for _, e := range bad {
		log.G(ctx).Warn("skipping unreadable container record", "err", e)
	}
	if d.vols, err = volume.Open(filepath.Join(root, "volumes")); err != nil {
		return fmt.Errorf("volume store: %w", err)
	}
	d.acquireVolumes(ctx)
	d.images, err = image.New(ctx, filepath.Join(root, "image"), d.content, d.snapshots, image.Options{
		Containers: d.containersOfImage,
	})
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	return nil
}

// containersOfImage reports the containers made from imageID, for the image
// store's delete conflicts.
func (d *Daemon) containersOfImage(imageID string) (running, stopped []string) {
	for _, c := range d.containers.List() {
		if c.Image != imageID {
			continue
		}
		if c.State.Running {
			running = append(running, c.ID)
		} else {
			stopped = append(stopped, c.ID)
		}
	}
	return running, stopped
}

// Config returns the daemon's configuration; callers must not modify it.
func (d *Daemon) Config() *config.Config { return d.cfg }

func makeRoot(path string, mode os.FileMode) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("root %s: must be an absolute path", path)
	}
	if err := os.MkdirAll(path, mode); err != nil {
		return fmt.Errorf("cannot create root %s: %w", path, err)
	}
	// MkdirAll leaves an existing directory's mode alone and the umask
	// narrows a new one; the roots' modes are part of their contract.
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("root %s: %w", path, err)
	}
	probe, err := os.CreateTemp(path, ".write-test-")
	if err != nil {
		return fmt.Errorf("root %s is not writable: %w", path, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// engineID returns the engine's ID, a random UUID made on first start and
// kept in <data-root>/engine-id, as dockerd does.
func engineID(root string) (string, error) {
	p := filepath.Join(root, "engine-id")
	b, err := os.ReadFile(p)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("engine id: %w", err)
	}
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	if err := atomicfile.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("engine id: %w", err)
	}
	return id, nil
}

// findRuntimes returns the configured runtimes plus berth-runtime (beside
// the berthd executable, else in PATH) and runc (in PATH) when found and
// not configured otherwise.
func findRuntimes(cfg *config.Config) map[string]system.Runtime {
	rts := map[string]system.Runtime{}
	for name, rt := range cfg.Runtimes {
		rts[name] = rt
	}
	if _, ok := rts[config.DefaultRuntime]; !ok {
		if exe, err := os.Executable(); err == nil {
			if p := filepath.Join(filepath.Dir(exe), config.DefaultRuntime); isExecutable(p) {
				rts[config.DefaultRuntime] = system.Runtime{Path: p}
			}
		}
	}
	for _, name := range []string{config.DefaultRuntime, "runc"} {
		if _, ok := rts[name]; ok {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			rts[name] = system.Runtime{Path: p}
		}
	}
	return rts
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func (d *Daemon) missingRuntime() string {
	if _, ok := d.runtimes[d.cfg.DefaultRuntime]; ok {
		return ""
	}
	return fmt.Sprintf("WARNING: default runtime %s not found beside berthd nor in PATH; add it with --add-runtime %s=/path", d.cfg.DefaultRuntime, d.cfg.DefaultRuntime)
}

package daemon

import (
	"context"
	"errors"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
)

// An AutoRemove container's layer outlives its record briefly: unmounting
// an overlay syncs its upper filesystem (2-3 ms here), and removing the
// snapshot deletes a tree, which a `run --rm` client need not wait for. The
// record goes first; the layer follows in the background. A daemon that
// dies in between finds, at its next start, snapshots named like a
// container that has no record, and removes them then.

// discardSet tracks the layer removals in flight, so that Close can wait.
type discardSet struct{ wg sync.WaitGroup }

func (s *discardSet) start(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// waitAll waits for the removals in flight, at most timeout.
func (s *discardSet) waitAll(timeout time.Duration) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// discardLayer unmounts the rootfs of the removed container id and removes
// its snapshot and bundle directory.
func (d *Daemon) discardLayer(ctx context.Context, id string) {
	if err := mount.UnmountAll(d.rootfsDir(id)); err != nil {
		log.G(ctx).Warn("unmounting a removed container's rootfs", "id", id, "err", err)
	}
	if err := d.snapshots.Remove(ctx, id); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
		log.G(ctx).Warn("removing a removed container's layer (the next start retries)", "id", id, "err", err)
	}
	_ = os.RemoveAll(d.bundleDir(id))
}

// containerKey is how a container's writable snapshot is named: its ID.
// Image layers are named by chain ID ("sha256:..."), unpacks in progress
// by a prefix.
var containerKey = regexp.MustCompile(`^[0-9a-f]{64}$`)

// sweepOrphanLayers removes the container layers that no record owns: the
// background removals a dying daemon did not finish. New calls it before
// the API serves.
func (d *Daemon) sweepOrphanLayers(ctx context.Context) {
	var orphans []string
	_ = d.snapshots.Walk(ctx, func(i snapshot.Info) error {
		if containerKey.MatchString(i.Name) {
			if _, err := d.containers.Get(i.Name); err != nil {
				orphans = append(orphans, i.Name)
			}
		}
		return nil
	})
	for _, id := range orphans {
		log.G(ctx).Info("removing the layer of a container removed before the daemon stopped", "id", id)
		d.discardLayer(ctx, id)
	}
}

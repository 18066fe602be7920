package daemon

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/shim"
	"github.com/berth-engine/berth/internal/shim/shimapi"
)

// Releasing an exited container's shim — the runtime's delete of its state
// and cgroups, then the shim's exit — runs a runtime process and takes a
// few milliseconds that nobody waits for in dockerd either: the exit is
// recorded (and an AutoRemove container removed) while it goes on. Once
// the shim has the request it finishes the job even if berthd dies. A new
// start of the same container waits for the release first.

// releaseSet tracks the releases in flight, by container ID.
type releaseSet struct {
	mu sync.Mutex
	m  map[string]chan struct{}
	wg sync.WaitGroup
}

// pending reports whether id's shim is being released.
func (r *releaseSet) pending(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.m[id]
	return ok
}

// wait blocks until no release of id is in flight, or ctx ends.
func (r *releaseSet) wait(ctx context.Context, id string) {
	r.mu.Lock()
	ch := r.m[id]
	r.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// waitAll waits for every release in flight, at most timeout.
func (r *releaseSet) waitAll(timeout time.Duration) {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// release deletes the container in its shim (force: whatever is left is
// killed) and removes the shim's directory, in the background.
func (d *Daemon) release(ctx context.Context, id string, cl *shim.Client) {
	ch := make(chan struct{})
	r := &d.releases
	r.mu.Lock()
	if r.m == nil {
		r.m = map[string]chan struct{}{}
	}
	r.m[id] = ch
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer func() {
			r.mu.Lock()
			delete(r.m, id)
			r.mu.Unlock()
			close(ch)
			r.wg.Done()
		}()
		d.releaseNow(ctx, id, cl)
	}()
}

// releaseNow is release in the caller's goroutine.
func (d *Daemon) releaseNow(ctx context.Context, id string, cl *shim.Client) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if cl != nil {
		if _, err := cl.Delete(dctx, true); err != nil {
			log.G(ctx).Debug("shim delete", "id", id, "err", err)
		}
	}
	_ = os.RemoveAll(shimapi.Dir(d.cfg.ExecRoot, id))
}

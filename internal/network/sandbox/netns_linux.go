//go:build linux

package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NS is one network namespace, bind-mounted at Path.
type NS struct {
	ID   string // 64 hex: docker's SandboxID
	Path string // the sandbox key: <dir>/<first 12 of ID>
}

// Create makes a new network namespace with lo up and bind-mounts it at a
// new file in dir.
func Create(dir string) (NS, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return NS{}, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return NS{}, err
	}
	id := hex.EncodeToString(b)
	ns := NS{ID: id, Path: filepath.Join(dir, id[:12])}
	f, err := os.OpenFile(ns.Path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return NS{}, err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it ends with the goroutine, so
		// its new namespace never leaks to other goroutines.
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("unshare netns: %w", err)
			}
			if lo, err := netlink.LinkByName("lo"); err == nil {
				if err := netlink.LinkSetUp(lo); err != nil {
					return fmt.Errorf("lo up: %w", err)
				}
			}
			src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
			if err := unix.Mount(src, ns.Path, "none", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind-mounting netns at %s: %w", ns.Path, err)
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		os.Remove(ns.Path)
		return NS{}, err
	}
	return ns, nil
}

// Delete unmounts the namespace at path and removes the file; a path that
// is gone is not an error. The namespace dies when its last user (process
// or mount) goes.
func Delete(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Sweep deletes every namespace file in dir that keep does not name.
func Sweep(dir string, keep func(path string) bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") || keep(p) {
			continue
		}
		_ = Delete(p)
	}
}

// Pool keeps up to size namespaces ready in dir. Get takes one (or makes
// one when the pool is empty) and wakes the refill.
type Pool struct {
	dir  string
	size int

	mu     sync.Mutex
	ready  []NS
	closed bool
	wake   chan struct{}
	quit   chan struct{}
	done   chan struct{}
}

// NewPool starts a pool of size namespaces in dir (0: no pool, Get creates).
func NewPool(dir string, size int) *Pool {
	p := &Pool{dir: dir, size: size, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go p.refill()
	p.kick()
	return p
}

func (p *Pool) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pool) refill() {
	defer close(p.done)
	for {
		select {
		case <-p.quit:
			return
		case <-p.wake:
		}
		for {
			p.mu.Lock()
			if p.closed || len(p.ready) >= p.size {
				closed := p.closed
				p.mu.Unlock()
				if closed {
					return
				}
				break
			}
			p.mu.Unlock()
			ns, err := Create(p.dir)
			if err != nil {
				break
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				_ = Delete(ns.Path)
				return
			}
			p.ready = append(p.ready, ns)
			p.mu.Unlock()
		}
	}
}

// Get returns a ready namespace, or a new one when none is ready.
func (p *Pool) Get() (NS, error) {
	p.mu.Lock()
	if n := len(p.ready); n > 0 && !p.closed {
		ns := p.ready[n-1]
		p.ready = p.ready[:n-1]
		p.mu.Unlock()
		p.kick()
		return ns, nil
	}
	p.mu.Unlock()
	p.kick()
	return Create(p.dir)
}

// Owns reports whether path is one of the pool's ready namespaces.
func (p *Pool) Owns(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ns := range p.ready {
		if ns.Path == path {
			return true
		}
	}
	return false
}

// Close stops the refill and deletes the ready namespaces.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	ready := p.ready
	p.ready = nil
	p.mu.Unlock()
	close(p.quit)
	<-p.done
	for _, ns := range ready {
		_ = Delete(ns.Path)
	}
}

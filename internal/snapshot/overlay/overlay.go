// Package overlay is the default snapshotter: each committed snapshot is a
// directory unpacked once and shared as an overlayfs lower layer; an active
// snapshot adds upper and work directories. Directories are named by short
// numeric ids (<root>/snapshots/<id>/{fs,work}) because the kernel limits a
// mount's options to one page, and lowerdir lists every layer below.
package overlay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
	"github.com/berth-engine/berth/internal/snapshot/storage"
)

// DriverName is what `info` and image inspect report, as Docker does.
const DriverName = "overlay2"

// Snapshotter is an overlayfs snapshotter rooted in a directory.
type Snapshotter struct {
	root string
	ms   *storage.MetaStore
}

var _ snapshot.Snapshotter = (*Snapshotter)(nil)

// New opens (creating) the snapshotter at root and removes directories a
// crash left without metadata.
func New(ctx context.Context, root string) (*Snapshotter, error) {
	if err := os.MkdirAll(filepath.Join(root, "snapshots"), 0o700); err != nil {
		return nil, err
	}
	ms, err := storage.Open(filepath.Join(root, "metadata.db"))
	if err != nil {
		return nil, err
	}
	s := &Snapshotter{root: root, ms: ms}
	if err := ms.Prune(ctx, filepath.Join(root, "snapshots")); err != nil {
		ms.Close()
		return nil, err
	}
	return s, nil
}

func (s *Snapshotter) dir(id string) string { return filepath.Join(s.root, "snapshots", id) }
func (s *Snapshotter) fs(id string) string  { return filepath.Join(s.root, "snapshots", id, "fs") }

// Close implements snapshot.Snapshotter.
func (s *Snapshotter) Close() error { return s.ms.Close() }

// Stat implements snapshot.Snapshotter.
func (s *Snapshotter) Stat(ctx context.Context, key string) (snapshot.Info, error) {
	_, info, err := s.ms.Get(ctx, key)
	return info, err
}

// Walk implements snapshot.Snapshotter.
func (s *Snapshotter) Walk(ctx context.Context, fn func(snapshot.Info) error) error {
	return s.ms.Walk(ctx, fn)
}

// Prepare implements snapshot.Snapshotter.
func (s *Snapshotter) Prepare(ctx context.Context, key, parent string) ([]mount.Mount, error) {
	return s.create(ctx, snapshot.KindActive, key, parent)
}

// View implements snapshot.Snapshotter.
func (s *Snapshotter) View(ctx context.Context, key, parent string) ([]mount.Mount, error) {
	return s.create(ctx, snapshot.KindView, key, parent)
}

func (s *Snapshotter) create(ctx context.Context, kind snapshot.Kind, key, parent string) ([]mount.Mount, error) {
	var made string
	sn, err := s.ms.Create(ctx, kind, key, parent, func(sn storage.Snapshot, _ *storage.Snapshot) error {
		if err := fitsPage(s.mounts(sn)); err != nil {
			return fmt.Errorf("snapshot %s: %w", key, err)
		}
		made = s.dir(sn.ID)
		if err := os.MkdirAll(filepath.Join(made, "fs"), 0o755); err != nil {
			return err
		}
		if kind == snapshot.KindActive {
			return os.Mkdir(filepath.Join(made, "work"), 0o700)
		}
		return nil
	})
	if err != nil {
		if made != "" {
			os.RemoveAll(made)
		}
		return nil, err
	}
	return s.mounts(sn), nil
}

// Mounts implements snapshot.Snapshotter.
func (s *Snapshotter) Mounts(ctx context.Context, key string) ([]mount.Mount, error) {
	sn, _, err := s.ms.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if sn.Kind == snapshot.KindCommitted {
		return nil, fmt.Errorf("snapshot %s is committed: %w", key, snapshot.ErrFailedPrecondition)
	}
	return s.mounts(sn), nil
}

func (s *Snapshotter) mounts(sn storage.Snapshot) []mount.Mount {
	ro := sn.Kind == snapshot.KindView
	switch {
	case len(sn.ParentIDs) == 0:
		opt := "rw"
		if ro {
			opt = "ro"
		}
		return []mount.Mount{{Type: "bind", Source: s.fs(sn.ID), Options: []string{"rbind", opt}}}
	case ro && len(sn.ParentIDs) == 1:
		return []mount.Mount{{Type: "bind", Source: s.fs(sn.ParentIDs[0]), Options: []string{"rbind", "ro"}}}
	}
	lower := make([]string, len(sn.ParentIDs))
	for i, id := range sn.ParentIDs {
		lower[i] = s.fs(id)
	}
	opts := []string{"lowerdir=" + strings.Join(lower, ":")}
	if !ro {
		opts = append(opts, "upperdir="+s.fs(sn.ID), "workdir="+filepath.Join(s.dir(sn.ID), "work"))
	}
	return []mount.Mount{{Type: "overlay", Source: "overlay", Options: opts}}
}

// fitsPage refuses a mount whose options the kernel would cut at one page
// (it copies mount data with a page limit), which would fail later with a
// bare EINVAL.
func fitsPage(ms []mount.Mount) error {
	for _, m := range ms {
		if n := len(strings.Join(m.Options, ",")); n >= os.Getpagesize() {
			return fmt.Errorf("%w: overlay options of %d bytes exceed the kernel's %d-byte limit (too many layers)", snapshot.ErrInvalidArgument, n, os.Getpagesize())
		}
	}
	return nil
}

// Commit implements snapshot.Snapshotter.
func (s *Snapshotter) Commit(ctx context.Context, name, key string) error {
	_, err := s.ms.Commit(ctx, name, key)
	return err
}

// Remove implements snapshot.Snapshotter.
func (s *Snapshotter) Remove(ctx context.Context, key string) error {
	id, err := s.ms.Remove(ctx, key)
	if err != nil {
		return err
	}
	return os.RemoveAll(s.dir(id))
}

// DriverData is what image inspect shows as GraphDriver for the committed
// snapshot key: its directory and those below it.
func (s *Snapshotter) DriverData(ctx context.Context, key string) (string, map[string]string, error) {
	sn, _, err := s.ms.Get(ctx, key)
	if err != nil {
		return "", nil, err
	}
	data := map[string]string{"UpperDir": s.fs(sn.ID), "WorkDir": filepath.Join(s.dir(sn.ID), "work")}
	if len(sn.ParentIDs) > 0 {
		lower := make([]string, len(sn.ParentIDs))
		for i, id := range sn.ParentIDs {
			lower[i] = s.fs(id)
		}
		data["LowerDir"] = strings.Join(lower, ":")
	}
	return DriverName, data, nil
}

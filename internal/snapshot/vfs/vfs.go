// Package vfs is the plain-copy snapshotter: an active snapshot starts as a
// full copy of its parent, so it works on any filesystem and proves the
// snapshot.Snapshotter interface beside overlay. Copies go through
// moby/go-archive (tar stream from the parent into the child).
package vfs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moby/go-archive"
	"github.com/moby/sys/user"

	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
	"github.com/berth-engine/berth/internal/snapshot/storage"
)

// DriverName is what `info` and image inspect report.
const DriverName = "vfs"

// Snapshotter copies directories.
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
	if err := ms.Prune(ctx, filepath.Join(root, "snapshots")); err != nil {
		ms.Close()
		return nil, err
	}
	return &Snapshotter{root: root, ms: ms}, nil
}

func (s *Snapshotter) dir(id string) string { return filepath.Join(s.root, "snapshots", id) }

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
	sn, err := s.ms.Create(ctx, kind, key, parent, func(sn storage.Snapshot, p *storage.Snapshot) error {
		made = s.dir(sn.ID)
		if kind == snapshot.KindActive && p != nil {
			// The copy runs inside the metadata transaction: slow for big
			// layers, but a crash can never leave a record over half a copy.
			return copier().CopyWithTar(s.dir(p.ID), made)
		}
		return os.Mkdir(made, 0o755)
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
	src, opt := s.dir(sn.ID), "rw"
	if sn.Kind == snapshot.KindView {
		opt = "ro"
		if len(sn.ParentIDs) > 0 {
			src = s.dir(sn.ParentIDs[0]) // committed, so never changes
		}
	}
	return []mount.Mount{{Type: "bind", Source: src, Options: []string{"rbind", opt}}}
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

// DriverData is what image inspect shows as GraphDriver for key.
func (s *Snapshotter) DriverData(ctx context.Context, key string) (string, map[string]string, error) {
	sn, _, err := s.ms.Get(ctx, key)
	if err != nil {
		return "", nil, err
	}
	return DriverName, map[string]string{"Dir": s.dir(sn.ID)}, nil
}

// copier copies directories keeping ownership as root; unprivileged (tests,
// rootless), everything belongs to the caller, who cannot chown.
func copier() *archive.Archiver {
	if os.Geteuid() == 0 {
		return archive.NewDefaultArchiver()
	}
	uid, gid := int64(os.Geteuid()), int64(os.Getegid())
	return &archive.Archiver{
		Untar: func(r io.Reader, dst string, o *archive.TarOptions) error {
			o.NoLchown = true
			return archive.Untar(r, dst, o)
		},
		IDMapping: user.IdentityMapping{
			UIDMaps: []user.IDMap{{ID: 0, ParentID: uid, Count: 1}},
			GIDMaps: []user.IDMap{{ID: 0, ParentID: gid, Count: 1}},
		},
	}
}

package overlay

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/berth-engine/berth/internal/archive"
	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
)

// Changes lists what the active snapshot key changed over its parents
// (docker diff), from its upper directory. ErrNotFound when key does not
// exist, ErrFailedPrecondition when it is not active.
func (s *Snapshotter) Changes(ctx context.Context, key string) ([]archive.Change, error) {
	sn, _, err := s.ms.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if sn.Kind != snapshot.KindActive {
		return nil, fmt.Errorf("snapshot %s is not active: %w", key, snapshot.ErrFailedPrecondition)
	}
	lowers := make([]string, len(sn.ParentIDs))
	for i, id := range sn.ParentIDs {
		lowers[i] = s.fs(id)
	}
	return archive.OverlayChanges(s.fs(sn.ID), lowers)
}

// ReadOnlyMounts returns mounts that show the active snapshot key as it
// is, read-only, without its work directory: its upper directory becomes
// the top lower layer of an overlay with no upper, so the mount cannot
// change the snapshot (container export of a stopped container).
func (s *Snapshotter) ReadOnlyMounts(ctx context.Context, key string) ([]mount.Mount, error) {
	sn, _, err := s.ms.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	layers := []string{s.fs(sn.ID)}
	if sn.Kind == snapshot.KindView {
		layers = layers[:0] // a view's own directory is empty
	}
	for _, id := range sn.ParentIDs {
		layers = append(layers, s.fs(id))
	}
	if len(layers) == 1 {
		return []mount.Mount{{Type: "bind", Source: layers[0], Options: []string{"rbind", "ro"}}}, nil
	}
	ms := []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"ro", "lowerdir=" + strings.Join(layers, ":")}}}
	if err := fitsPage(ms); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", key, err)
	}
	return ms, nil
}

// Diff writes what the active snapshot key changed over its parents to w
// as an image layer tar, from its upper directory (docker commit).
// Errors as Changes.
func (s *Snapshotter) Diff(ctx context.Context, key string, w io.Writer) error {
	sn, _, err := s.ms.Get(ctx, key)
	if err != nil {
		return err
	}
	if sn.Kind != snapshot.KindActive {
		return fmt.Errorf("snapshot %s is not active: %w", key, snapshot.ErrFailedPrecondition)
	}
	return archive.WriteOverlayDiff(ctx, w, s.fs(sn.ID))
}

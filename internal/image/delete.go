package image

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/snapshot"
)

// DeleteOptions are docker rmi's flags.
type DeleteOptions struct {
	Force bool
	// PruneChildren (docker's default; noprune=1 clears it) also deletes
	// the untagged parents a deleted image leaves behind: the images a
	// commit was made from, when nothing else holds them.
	PruneChildren bool
}

type deleteConflict struct {
	id   string
	hard bool // force does not help
	used bool // a container uses it
	msg  string
}

func (c *deleteConflict) err() error {
	how := "must be forced"
	if c.hard {
		how = "cannot be forced"
	}
	return conflict(fmt.Sprintf("conflict: unable to delete %s (%s) - %s", shortID(c.id), how, c.msg))
}

const (
	checkRunning = 1 << iota
	checkRefs
	checkStopped
	checkChildren // images committed from it: force does not help
)

func (s *Store) containers(id string) (running, stopped []string) {
	if s.opts.Containers == nil {
		return nil, nil
	}
	return s.opts.Containers(id)
}

func (s *Store) checkConflict(tx *bolt.Tx, id string, mask int) *deleteConflict {
	running, stopped := s.containers(id)
	if mask&checkChildren != 0 && len(childrenOf(tx, id)) > 0 {
		return &deleteConflict{id: id, hard: true, msg: "image has dependent child images"}
	}
	if mask&checkRunning != 0 && len(running) > 0 {
		return &deleteConflict{id: id, hard: true, used: true, msg: "image is being used by running container " + shortID(running[0])}
	}
	if mask&checkRefs != 0 && len(refsOf(tx, id)) > 0 {
		return &deleteConflict{id: id, msg: "image is referenced in multiple repositories"}
	}
	if mask&checkStopped != 0 && len(stopped) > 0 {
		return &deleteConflict{id: id, used: true, msg: "image is being used by stopped container " + shortID(stopped[0])}
	}
	return nil
}

// Delete removes the tag refOrID names, or the image it names by ID, with
// docker's rules: a tag is untagged, and the image goes with its last tag
// unless a container uses it; by ID, an image with several tags needs force,
// and an image a running container uses cannot be deleted. It returns
// docker's Untagged/Deleted items. ErrNotFound as Resolve, ErrConflict with
// docker's "conflict: unable to delete ..." messages.
func (s *Store) Delete(ctx context.Context, refOrID string, opts DeleteOptions) ([]image.DeleteResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		items   []image.DeleteResponse
		removed []removedImage
		id      string
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		var ref reference.Named
		var err error
		id, ref, err = resolve(tx, refOrID)
		if err != nil {
			return err
		}
		refs := refsOf(tx, id)
		quiet := false
		if ref != nil {
			if !opts.Force && len(refs) == 1 {
				if running, stopped := s.containers(id); len(running)+len(stopped) > 0 {
					c := append(running, stopped...)[0]
					return conflict(fmt.Sprintf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s", refOrID, shortID(c), shortID(id)))
				}
			}
			if _, isDigest := ref.(reference.Canonical); isDigest {
				rec, _, err := getRecord(tx, id)
				if err != nil {
					return err
				}
				rec.RepoDigests = slices.DeleteFunc(rec.RepoDigests, func(d string) bool { return d == ref.String() })
				if err := putRecord(tx, id, rec); err != nil {
					return err
				}
			} else if err := tx.Bucket(bucketRefs).Delete([]byte(ref.String())); err != nil {
				return err
			}
			items = append(items, image.DeleteResponse{Untagged: reference.FamiliarString(ref)})
			if len(refsOf(tx, id)) > 0 {
				return nil
			}
			quiet = true
		} else if len(refs) == 1 {
			mask := checkRunning | checkChildren
			if !opts.Force {
				mask |= checkStopped
			}
			if c := s.checkConflict(tx, id, mask); c != nil {
				return c.err()
			}
			if err := s.untagAll(tx, id, &items); err != nil {
				return err
			}
		}
		mask := checkRunning | checkChildren
		if !opts.Force {
			mask |= checkRefs | checkStopped
		}
		if c := s.checkConflict(tx, id, mask); c != nil {
			if quiet {
				return nil // untagged; the image stays for its containers or children
			}
			return c.err()
		}
		if err := s.untagAll(tx, id, &items); err != nil {
			return err
		}
		rec, _, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		removed = append(removed, removedImage{id, rec})
		items = append(items, image.DeleteResponse{Deleted: id})
		if err := tx.Bucket(bucketImages).Delete([]byte(id)); err != nil {
			return err
		}
		if opts.PruneChildren {
			// The parents the deletion left dangling go too, nearest
			// first, as dockerd prunes them; the first one something
			// still holds (a tag, a container, another child) stops it.
			for p := rec.Parent; p != ""; {
				prec, ok, err := getRecord(tx, p.String())
				if err != nil || !ok {
					break
				}
				if len(refsOf(tx, p.String())) > 0 || s.checkConflict(tx, p.String(), checkRunning|checkStopped|checkChildren) != nil {
					break
				}
				if err := tx.Bucket(bucketImages).Delete([]byte(p.String())); err != nil {
					return err
				}
				removed = append(removed, removedImage{p.String(), prec})
				items = append(items, image.DeleteResponse{Deleted: p.String()})
				p = prec.Parent
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.syncIndex(ctx)
	// After the commit: a crash here leaves only unreferenced files.
	for _, r := range removed {
		items = append(items, s.release(ctx, r.id, r.rec)...)
	}
	return items, nil
}

type removedImage struct {
	id  string
	rec record
}

// childrenOf lists the images whose parent is id (commits made from it).
func childrenOf(tx *bolt.Tx, id string) []string {
	var out []string
	_ = tx.Bucket(bucketImages).ForEach(func(k, _ []byte) error {
		if r, ok, err := getRecord(tx, string(k)); err == nil && ok && r.Parent.String() == id {
			out = append(out, string(k))
		}
		return nil
	})
	return out
}

func (s *Store) untagAll(tx *bolt.Tx, id string, items *[]image.DeleteResponse) error {
	for _, r := range refsOf(tx, id) {
		if err := tx.Bucket(bucketRefs).Delete([]byte(r.String())); err != nil {
			return err
		}
		*items = append(*items, image.DeleteResponse{Untagged: reference.FamiliarString(r)})
	}
	return nil
}

// release removes the snapshots and blobs of a deleted image that no other
// image shares, reporting removed layers as docker does.
func (s *Store) release(ctx context.Context, id string, rec record) []image.DeleteResponse {
	usedChains, usedBlobs := map[digest.Digest]bool{}, map[digest.Digest]bool{}
	_ = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			r, _, err := getRecord(tx, string(k))
			if err != nil {
				return nil
			}
			usedBlobs[digest.Digest(k)], usedBlobs[r.Manifest] = true, true
			for _, l := range r.Layers {
				usedChains[l.ChainID], usedBlobs[l.Blob] = true, true
			}
			return nil
		})
	})
	var items []image.DeleteResponse
	for i := len(rec.Layers) - 1; i >= 0; i-- {
		l := rec.Layers[i]
		// What a pull under way holds stays: it is about to be used.
		if !usedChains[l.ChainID] && !s.held(l.ChainID.String()) {
			err := s.sn.Remove(ctx, l.ChainID.String())
			switch {
			case err == nil:
				items = append(items, image.DeleteResponse{Deleted: l.ChainID.String()})
			case errors.Is(err, snapshot.ErrFailedPrecondition):
				// A container's layer still sits on it: it stays until
				// that container is removed.
			}
		}
		if !usedBlobs[l.Blob] && !s.held(l.Blob.String()) {
			_ = s.content.Delete(ctx, l.Blob)
		}
	}
	for _, d := range []digest.Digest{rec.Manifest, digest.Digest(id)} {
		if !usedBlobs[d] {
			_ = s.content.Delete(ctx, d)
		}
	}
	return items
}

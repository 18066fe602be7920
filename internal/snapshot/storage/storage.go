// Package storage keeps snapshotters' metadata in one bbolt file: each key's
// kind, parent, creation time and numeric id (the id names the snapshot's
// directory, which keeps overlay's lowerdir option short). Directory changes
// run inside the metadata transaction so a crash leaves at worst an orphaned
// directory, which Open's caller removes with Prune.
package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/snapshot"
)

var bucket = []byte("snapshots")

type record struct {
	ID      uint64        `json:"id"`
	Kind    snapshot.Kind `json:"kind"`
	Parent  string        `json:"parent,omitempty"`
	Created time.Time     `json:"created"`
}

// Snapshot is a key's storage view.
type Snapshot struct {
	ID        string
	Kind      snapshot.Kind
	ParentIDs []string // nearest parent first
}

// MetaStore is an open metadata file.
type MetaStore struct {
	db *bolt.DB
}

// Open opens (creating) the metadata file at path.
func Open(path string) (*MetaStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("snapshot metadata %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return &MetaStore{db: db}, nil
}

// Close closes the file.
func (m *MetaStore) Close() error { return m.db.Close() }

func get(b *bolt.Bucket, key string) (record, error) {
	v := b.Get([]byte(key))
	if v == nil {
		return record{}, fmt.Errorf("snapshot %s: %w", key, snapshot.ErrNotFound)
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return record{}, fmt.Errorf("snapshot %s: corrupt record: %w", key, err)
	}
	return r, nil
}

func put(b *bolt.Bucket, key string, r record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), v)
}

func chain(b *bolt.Bucket, r record) (Snapshot, error) {
	s := Snapshot{ID: strconv.FormatUint(r.ID, 10), Kind: r.Kind}
	for p := r.Parent; p != ""; {
		pr, err := get(b, p)
		if err != nil {
			return Snapshot{}, err
		}
		s.ParentIDs = append(s.ParentIDs, strconv.FormatUint(pr.ID, 10))
		p = pr.Parent
	}
	return s, nil
}

// Create records key (a view or an active snapshot) over parent and calls
// create with the new id and the parent's storage view before the record is
// committed; an error from create aborts. Errors as Snapshotter.Prepare.
func (m *MetaStore) Create(ctx context.Context, kind snapshot.Kind, key, parent string, create func(s Snapshot, parent *Snapshot) error) (Snapshot, error) {
	if key == "" {
		return Snapshot{}, fmt.Errorf("empty snapshot key: %w", snapshot.ErrInvalidArgument)
	}
	var s Snapshot
	err := m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get([]byte(key)) != nil {
			return fmt.Errorf("snapshot %s: %w", key, snapshot.ErrAlreadyExists)
		}
		var ps *Snapshot
		if parent != "" {
			pr, err := get(b, parent)
			if err != nil {
				return fmt.Errorf("parent: %w", err)
			}
			if pr.Kind != snapshot.KindCommitted {
				return fmt.Errorf("parent %s is %s, not committed: %w", parent, pr.Kind, snapshot.ErrFailedPrecondition)
			}
			p, err := chain(b, pr)
			if err != nil {
				return err
			}
			ps = &p
		}
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		r := record{ID: id, Kind: kind, Parent: parent, Created: time.Now().UTC()}
		if s, err = chain(b, r); err != nil {
			return err
		}
		if err := put(b, key, r); err != nil {
			return err
		}
		return create(s, ps)
	})
	return s, err
}

// Get returns key's storage view and description.
func (m *MetaStore) Get(ctx context.Context, key string) (Snapshot, snapshot.Info, error) {
	var s Snapshot
	var info snapshot.Info
	err := m.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		r, err := get(b, key)
		if err != nil {
			return err
		}
		info = snapshot.Info{Kind: r.Kind, Name: key, Parent: r.Parent, Created: r.Created}
		s, err = chain(b, r)
		return err
	})
	return s, info, err
}

// Commit renames active key to committed name, keeping its id. Errors as
// Snapshotter.Commit.
func (m *MetaStore) Commit(ctx context.Context, name, key string) (Snapshot, error) {
	var s Snapshot
	err := m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		r, err := get(b, key)
		if err != nil {
			return err
		}
		if r.Kind != snapshot.KindActive {
			return fmt.Errorf("snapshot %s is %s, not active: %w", key, r.Kind, snapshot.ErrFailedPrecondition)
		}
		if name == "" {
			return fmt.Errorf("empty snapshot name: %w", snapshot.ErrInvalidArgument)
		}
		if b.Get([]byte(name)) != nil {
			return fmt.Errorf("snapshot %s: %w", name, snapshot.ErrAlreadyExists)
		}
		if err := b.Delete([]byte(key)); err != nil {
			return err
		}
		r.Kind = snapshot.KindCommitted
		r.Created = time.Now().UTC()
		if s, err = chain(b, r); err != nil {
			return err
		}
		return put(b, name, r)
	})
	return s, err
}

// Remove deletes key's record and returns its id; the caller then removes the
// files (a crash in between leaves an orphan that Prune finds). Errors as
// Snapshotter.Remove.
func (m *MetaStore) Remove(ctx context.Context, key string) (string, error) {
	var id string
	err := m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		r, err := get(b, key)
		if err != nil {
			return err
		}
		err = b.ForEach(func(k, v []byte) error {
			var c record
			if json.Unmarshal(v, &c) == nil && c.Parent == key {
				return fmt.Errorf("snapshot %s has child %s: %w", key, k, snapshot.ErrFailedPrecondition)
			}
			return nil
		})
		if err != nil {
			return err
		}
		id = strconv.FormatUint(r.ID, 10)
		return b.Delete([]byte(key))
	})
	return id, err
}

// Walk calls fn for every snapshot.
func (m *MetaStore) Walk(ctx context.Context, fn func(snapshot.Info) error) error {
	var infos []snapshot.Info
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("snapshot %s: corrupt record: %w", k, err)
			}
			infos = append(infos, snapshot.Info{Kind: r.Kind, Name: string(k), Parent: r.Parent, Created: r.Created})
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, i := range infos {
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}

// IDs returns the ids in use, for removing orphaned directories.
func (m *MetaStore) IDs(ctx context.Context) (map[string]bool, error) {
	ids := map[string]bool{}
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			ids[strconv.FormatUint(r.ID, 10)] = true
			return nil
		})
	})
	return ids, err
}

// Prune removes the entries of dir (one per snapshot id) that no record owns:
// leftovers of a crash between a directory change and its transaction.
func (m *MetaStore) Prune(ctx context.Context, dir string) error {
	ids, err := m.IDs(ctx)
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !ids[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

package snapshot

import (
	"context"
	"errors"
	"time"

	"github.com/berth-engine/berth/internal/mount"
)

// Error classes. Errors returned by snapshotters wrap one of them.
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrInvalidArgument    = errors.New("invalid argument")
)

// Kind is a snapshot's state.
type Kind uint8

const (
	KindUnknown Kind = iota
	KindView
	KindActive
	KindCommitted
)

func (k Kind) String() string {
	switch k {
	case KindView:
		return "view"
	case KindActive:
		return "active"
	case KindCommitted:
		return "committed"
	}
	return "unknown"
}

// Info describes a snapshot.
type Info struct {
	Kind    Kind
	Name    string // its key
	Parent  string // the committed snapshot below it, "" for a base
	Created time.Time
}

// Snapshotter manages layered filesystems by key. Parents are always
// committed snapshots; images name theirs by chain ID.
type Snapshotter interface {
	// Stat describes key; ErrNotFound when it does not exist.
	Stat(ctx context.Context, key string) (Info, error)
	// Mounts returns the mounts that show an active snapshot (writable) or a
	// view (read-only). ErrNotFound when key does not exist,
	// ErrFailedPrecondition for a committed snapshot.
	Mounts(ctx context.Context, key string) ([]mount.Mount, error)
	// Prepare makes a writable snapshot key on top of parent ("" for an empty
	// one) and returns its mounts. ErrAlreadyExists when key exists,
	// ErrNotFound when parent does not, ErrFailedPrecondition when parent is
	// not committed.
	Prepare(ctx context.Context, key, parent string) ([]mount.Mount, error)
	// View is Prepare for a read-only snapshot; same errors.
	View(ctx context.Context, key, parent string) ([]mount.Mount, error)
	// Commit turns the active snapshot key into the committed snapshot name;
	// key stops existing. ErrNotFound when key does not exist,
	// ErrFailedPrecondition when it is not active, ErrAlreadyExists when name
	// exists.
	Commit(ctx context.Context, name, key string) error
	// Remove deletes key and its files. ErrNotFound when it does not exist,
	// ErrFailedPrecondition when other snapshots have it as parent.
	Remove(ctx context.Context, key string) error
	// Walk calls fn for every snapshot, in no set order; an error from fn
	// stops the walk and is returned.
	Walk(ctx context.Context, fn func(Info) error) error
	// Close releases the metadata store.
	Close() error
}

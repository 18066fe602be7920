package content

import (
	"context"
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
)

// Error classes. Errors returned by this package wrap one of them.
var (
	ErrNotFound        = errors.New("not found")
	ErrInvalidArgument = errors.New("invalid argument")
)

// Info describes a stored blob.
type Info struct {
	Digest digest.Digest
	Size   int64
}

// Provider reads blobs.
type Provider interface {
	// Info returns the blob's size. It fails with ErrNotFound when the blob
	// is absent and ErrInvalidArgument when dgst is malformed.
	Info(ctx context.Context, dgst digest.Digest) (Info, error)
	// Open returns the blob's bytes; the caller closes the reader. Errors
	// as Info.
	Open(ctx context.Context, dgst digest.Digest) (io.ReadCloser, error)
}

// Ingester adds blobs.
type Ingester interface {
	// Write stores everything r yields. When expected is not empty the data
	// must hash to it, or Write fails with ErrInvalidArgument and stores
	// nothing. Writing a blob that exists already succeeds and keeps the
	// existing file. Only sha256 is accepted.
	Write(ctx context.Context, r io.Reader, expected digest.Digest) (Info, error)
}

// Manager lists and removes blobs.
type Manager interface {
	// Walk calls fn for every blob, in no set order; an error from fn stops
	// the walk and is returned.
	Walk(ctx context.Context, fn func(Info) error) error
	// Delete removes a blob; ErrNotFound when it is absent.
	Delete(ctx context.Context, dgst digest.Digest) error
}

// Store is a whole content store.
type Store interface {
	Provider
	Ingester
	Manager
}

package content

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-engine/berth/internal/atomicfile"
)

const layoutFile = `{"imageLayoutVersion":"1.0.0"}`

// Local is a Store in a directory.
type Local struct {
	root string
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating if needed) the store at root and removes
// interrupted writes.
func NewLocal(root string) (*Local, error) {
	for _, d := range []string{filepath.Join(root, "blobs", "sha256"), filepath.Join(root, "ingest")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("content store: %w", err)
		}
	}
	// Writes never finish in ingest: what is there was cut off.
	ents, err := os.ReadDir(filepath.Join(root, "ingest"))
	if err != nil {
		return nil, fmt.Errorf("content store: %w", err)
	}
	for _, e := range ents {
		_ = os.RemoveAll(filepath.Join(root, "ingest", e.Name()))
	}
	lf := filepath.Join(root, "oci-layout")
	if _, err := os.Stat(lf); errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.WriteFile(lf, []byte(layoutFile), 0o644); err != nil {
			return nil, fmt.Errorf("content store: %w", err)
		}
	}
	return &Local{root: root}, nil
}

// Root is the store's directory.
func (s *Local) Root() string { return s.root }

func (s *Local) path(dgst digest.Digest) (string, error) {
	if err := dgst.Validate(); err != nil {
		return "", fmt.Errorf("digest %q: %w: %v", dgst, ErrInvalidArgument, err)
	}
	if dgst.Algorithm() != digest.SHA256 {
		return "", fmt.Errorf("digest %s: %w: only sha256 is supported", dgst, ErrInvalidArgument)
	}
	return filepath.Join(s.root, "blobs", "sha256", dgst.Encoded()), nil
}

// Info implements Provider.
func (s *Local) Info(ctx context.Context, dgst digest.Digest) (Info, error) {
	p, err := s.path(dgst)
	if err != nil {
		return Info{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Info{}, fmt.Errorf("blob %s: %w", dgst, ErrNotFound)
		}
		return Info{}, err
	}
	return Info{Digest: dgst, Size: st.Size()}, nil
}

// Open implements Provider.
func (s *Local) Open(ctx context.Context, dgst digest.Digest) (io.ReadCloser, error) {
	p, err := s.path(dgst)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("blob %s: %w", dgst, ErrNotFound)
		}
		return nil, err
	}
	return f, nil
}

// ReadAll returns a whole (small) blob.
func ReadAll(ctx context.Context, p Provider, dgst digest.Digest) ([]byte, error) {
	rc, err := p.Open(ctx, dgst)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Write implements Ingester.
func (s *Local) Write(ctx context.Context, r io.Reader, expected digest.Digest) (Info, error) {
	if expected != "" {
		if _, err := s.path(expected); err != nil {
			return Info{}, err
		}
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, "ingest"), "blob-")
	if err != nil {
		return Info{}, err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if err != nil {
		return Info{}, fmt.Errorf("write blob: %w", err)
	}
	got := digest.NewDigest(digest.SHA256, h)
	if expected != "" && got != expected {
		return Info{}, fmt.Errorf("blob digest %s, expected %s: %w", got, expected, ErrInvalidArgument)
	}
	info := Info{Digest: got, Size: n}
	dst, _ := s.path(got)
	if _, err := os.Stat(dst); err == nil {
		return info, nil
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, err
	}
	if err := tmp.Close(); err != nil {
		return Info{}, err
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return Info{}, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Info{}, err
	}
	return info, atomicfile.SyncDir(filepath.Dir(dst))
}

// Walk implements Manager.
func (s *Local) Walk(ctx context.Context, fn func(Info) error) error {
	ents, err := os.ReadDir(filepath.Join(s.root, "blobs", "sha256"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil {
			continue
		}
		st, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if err := fn(Info{Digest: d, Size: st.Size()}); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements Manager.
func (s *Local) Delete(ctx context.Context, dgst digest.Digest) error {
	p, err := s.path(dgst)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("blob %s: %w", dgst, ErrNotFound)
		}
		return err
	}
	return nil
}

// WriteIndex replaces the layout's index.json (the images a standard OCI
// tool sees) atomically.
func (s *Local) WriteIndex(ctx context.Context, idx ocispec.Index) error {
	data, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(s.root, "index.json"), data, 0o644)
}

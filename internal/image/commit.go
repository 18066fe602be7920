package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/archive"
	"github.com/berth-engine/berth/internal/registry"
)

// CommitOptions are docker commit's parameters besides the layer.
type CommitOptions struct {
	Parent    string                          // the image the container was made from (ID)
	Config    dockerspec.DockerOCIImageConfig // the container's config
	Changes   []string                        // Dockerfile-style edits applied over Config
	Ref       string                          // repository[:tag]; "" for none
	Comment   string
	Author    string
	CreatedBy string // the history entry's created_by (the container's command)
}

// Commit makes an image of the parent's layers plus the layer tar r (a
// container's changes, uncompressed, OCI whiteouts), with opts.Config as
// its config and a history entry for the new layer, and returns its ID.
// ErrNotFound when the parent is gone, ErrInvalidParameter for a bad
// reference, change or layer.
func (s *Store) Commit(ctx context.Context, r io.Reader, opts CommitOptions) (string, error) {
	var tagged string
	if opts.Ref != "" {
		t, err := parseTag(opts.Ref)
		if err != nil {
			return "", err
		}
		tagged = t.String()
	}
	cfg := opts.Config
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return "", err
	}
	blob, err := s.content.Write(ctx, r, "")
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	diffID := blob.Digest

	s.mu.Lock()
	defer s.mu.Unlock()
	parent, err := s.load(opts.Parent)
	if err != nil {
		s.dropBlob(ctx, diffID)
		return "", err
	}
	img, err := s.config(ctx, parent.id)
	if err != nil {
		s.dropBlob(ctx, diffID)
		return "", err
	}
	diffIDs := append(append([]digest.Digest{}, img.RootFS.DiffIDs...), diffID)
	chain := identity.ChainID(diffIDs)
	size, err := s.unpack(ctx, diffID, chain, parent.rec.chainID())
	if err != nil {
		s.dropBlob(ctx, diffID)
		if errors.Is(err, archive.ErrUnsafe) || errors.Is(err, archive.ErrCorrupt) {
			return "", invalidf(fmt.Sprintf("commit: %v", err))
		}
		return "", fmt.Errorf("commit: %w", err)
	}

	now := time.Now().UTC()
	img.Created = &now
	img.Author = opts.Author
	img.Config = cfg
	img.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: diffIDs}
	img.History = append(append([]ocispec.History{}, img.History...), ocispec.History{
		Created: &now, CreatedBy: opts.CreatedBy, Author: opts.Author, Comment: opts.Comment,
	})
	cfgBlob, err := s.writeJSON(ctx, img)
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgBlob.Digest, Size: cfgBlob.Size},
	}
	layers := append(append([]layer{}, parent.rec.Layers...), layer{DiffID: diffID, Blob: diffID, Size: size, ChainID: chain})
	for _, l := range layers {
		info, err := s.content.Info(ctx, l.Blob)
		if err != nil {
			return "", fmt.Errorf("commit: %w", err)
		}
		mt := ocispec.MediaTypeImageLayer
		if l.Blob != l.DiffID {
			if bt, err := s.blobMediaType(ctx, l.Blob); err == nil && bt != registry.MediaTypeDockerLayerTar {
				mt = map[string]string{registry.MediaTypeDockerLayer: ocispec.MediaTypeImageLayerGzip}[bt]
				if mt == "" {
					mt = bt
				}
			}
		}
		manifest.Layers = append(manifest.Layers, ocispec.Descriptor{MediaType: mt, Digest: l.Blob, Size: info.Size})
	}
	mBlob, err := s.writeJSON(ctx, manifest)
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	id := cfgBlob.Digest.String()
	rec := record{Manifest: mBlob.Digest, ManifestSize: mBlob.Size, Layers: layers, Created: now, Parent: digest.Digest(parent.id)}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if tagged != "" {
			rec.LastTagTime = now
			if err := tx.Bucket(bucketRefs).Put([]byte(tagged), []byte(id)); err != nil {
				return err
			}
		}
		return putRecord(tx, id, rec)
	})
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	s.syncIndex(ctx)
	return id, nil
}

package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/archive"
	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
)

// ImportOptions are docker import's parameters besides the tar.
type ImportOptions struct {
	Ref     string   // repository[:tag] to tag the image with; "" for none
	Changes []string // Dockerfile-style config changes (ApplyChanges)
	Message string   // history comment; docker's "Imported from -" when empty
	Source  string   // where the tar came from, for the default message; "-" when empty
}

// Import builds a one-layer image from the root filesystem tar r (plain,
// gzip or zstd): the layer, config and manifest go to the content store, the
// layer is unpacked into the snapshotter under its chain ID, and the record
// and tag are committed last in one transaction. It returns the image ID.
// ErrInvalidParameter for a bad reference, change or tar; a crash at any
// point leaves the store as it was (plus unreferenced blobs).
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (string, error) {
	var tagged interface{ String() string }
	if opts.Ref != "" {
		t, err := parseTag(opts.Ref)
		if err != nil {
			return "", err
		}
		tagged = t
	}
	var cfg dockerspec.DockerOCIImageConfig
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return "", err
	}

	// The layer is stored uncompressed: its digest is then its diff ID.
	dr, _, err := archive.Decompress(r)
	if err != nil {
		return "", invalidf(fmt.Sprintf("import: %v", err))
	}
	decoded := &srcReader{r: dr}
	blob, err := s.content.Write(ctx, decoded, "")
	dr.Close()
	if err != nil {
		if ctx.Err() == nil && decoded.err != nil {
			return "", invalidf(fmt.Sprintf("import: %v", decoded.err))
		}
		return "", fmt.Errorf("import: %w", err)
	}
	diffID := blob.Digest

	s.mu.Lock()
	defer s.mu.Unlock()

	size, err := s.unpack(ctx, diffID, diffID, "")
	if err != nil {
		s.dropBlob(ctx, diffID)
		if errors.Is(err, archive.ErrUnsafe) || errors.Is(err, archive.ErrCorrupt) {
			return "", invalidf(fmt.Sprintf("import: %v", err))
		}
		return "", fmt.Errorf("import: %w", err)
	}

	now := time.Now().UTC()
	msg := opts.Message
	if msg == "" {
		src := opts.Source
		if src == "" {
			src = "-"
		}
		msg = "Imported from " + src
	}
	img := dockerspec.DockerOCIImage{
		Image: ocispec.Image{
			Created:  &now,
			Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
			History:  []ocispec.History{{Created: &now, Comment: msg}},
		},
		Config: cfg,
	}
	if runtime.GOARCH == "arm" {
		img.Variant = "v7"
	}
	cfgBlob, err := s.writeJSON(ctx, img)
	if err != nil {
		return "", err
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgBlob.Digest, Size: cfgBlob.Size},
		Layers:    []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayer, Digest: blob.Digest, Size: blob.Size}},
	}
	mBlob, err := s.writeJSON(ctx, manifest)
	if err != nil {
		return "", err
	}

	id := cfgBlob.Digest.String()
	rec := record{
		Manifest:     mBlob.Digest,
		ManifestSize: mBlob.Size,
		Layers:       []layer{{DiffID: diffID, Blob: blob.Digest, Size: size, ChainID: diffID}},
		Created:      now,
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if tagged != nil {
			rec.LastTagTime = now
			if err := tx.Bucket(bucketRefs).Put([]byte(tagged.String()), []byte(id)); err != nil {
				return err
			}
		}
		return putRecord(tx, id, rec)
	})
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	s.syncIndex(ctx)
	return id, nil
}

func (s *Store) writeJSON(ctx context.Context, v any) (content.Info, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return content.Info{}, err
	}
	return s.content.Write(ctx, bytes.NewReader(data), digest.FromBytes(data))
}

// unpack makes the committed snapshot chainID from the (uncompressed) layer
// blob over parent unless it exists, and returns the layer's size.
func (s *Store) unpack(ctx context.Context, blob, chainID digest.Digest, parent string) (int64, error) {
	size, _, err := s.applyLayer(ctx, blob, "", chainID, parent, nil)
	return size, err
}

// applyLayer makes the committed snapshot chain from the layer blob
// (compressed or not) over parent: a fresh snapshot, the blob unpacked into
// it with the safe unpacker, then committed. With diffID set, the
// uncompressed stream must have that digest (ErrInvalidParameter
// otherwise). progress, when set, gets the compressed bytes read so far.
// It returns the layer's size (archive.Apply's count) and whether it made
// the snapshot: one that exists already (another pull or image) is left as
// it is, with the size a record gives it, else the blob's.
func (s *Store) applyLayer(ctx context.Context, blob, diffID, chain digest.Digest, parent string, progress func(int64)) (size int64, created bool, err error) {
	if _, err := s.sn.Stat(ctx, chain.String()); err == nil {
		return s.knownLayerSize(ctx, chain, blob), false, nil
	} else if !errors.Is(err, snapshot.ErrNotFound) {
		return 0, false, err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	key := extractPrefix + hex.EncodeToString(rnd[:]) + "-" + chain.Encoded()
	ms, err := s.sn.Prepare(ctx, key, parent)
	if err != nil {
		return 0, false, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = s.sn.Remove(context.WithoutCancel(ctx), key)
		}
	}()
	err = mount.WithTempMount(ctx, ms, func(root string) error {
		rc, err := s.content.Open(ctx, blob)
		if err != nil {
			return err
		}
		defer rc.Close()
		var src io.Reader = rc
		if progress != nil {
			src = &progressReader{r: rc, every: 1 << 20, fn: progress}
		}
		dr, _, err := archive.Decompress(src)
		if err != nil {
			return fmt.Errorf("%w: %v", archive.ErrCorrupt, err)
		}
		defer dr.Close()
		dg := digest.SHA256.Digester()
		// Image layers may carry /dev nodes, as docker allows.
		size, err = archive.Apply(ctx, root, io.TeeReader(dr, dg.Hash()), archive.Options{AllowDevices: true})
		if err != nil || diffID == "" {
			return err
		}
		if _, err := io.Copy(dg.Hash(), dr); err != nil {
			return fmt.Errorf("%w: %v", archive.ErrCorrupt, err)
		}
		if got := dg.Digest(); got != diffID {
			return invalidf(fmt.Sprintf("layer %s: its content has diff ID %s, the image config says %s", blob, got, diffID))
		}
		return nil
	})
	if err != nil {
		if diffID != "" && (errors.Is(err, archive.ErrUnsafe) || errors.Is(err, archive.ErrCorrupt)) {
			return 0, false, invalidf(fmt.Sprintf("layer %s: %v", blob, err))
		}
		return 0, false, err
	}
	if err := s.sn.Commit(ctx, chain.String(), key); err != nil {
		if errors.Is(err, snapshot.ErrAlreadyExists) {
			return size, false, nil
		}
		return 0, false, err
	}
	committed = true
	return size, true, nil
}

// knownLayerSize is the size a record gives the layer chain, else the size
// of its blob.
func (s *Store) knownLayerSize(ctx context.Context, chain, blob digest.Digest) int64 {
	if n := s.layerSize(chain); n >= 0 {
		return n
	}
	if info, err := s.content.Info(ctx, blob); err == nil {
		return info.Size
	}
	return 0
}

// srcReader remembers the source's read error: a broken upload is the
// client's fault, a failing disk is not.
type srcReader struct {
	r   io.Reader
	err error
}

func (s *srcReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// dropBlob removes a blob no image record references.
func (s *Store) dropBlob(ctx context.Context, dgst digest.Digest) {
	used := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			var r record
			if json.Unmarshal(v, &r) == nil {
				for _, l := range r.Layers {
					used = used || l.Blob == dgst
				}
				used = used || r.Manifest == dgst || string(k) == dgst.String()
			}
			return nil
		})
	})
	if !used {
		_ = s.content.Delete(context.WithoutCancel(ctx), dgst)
	}
}

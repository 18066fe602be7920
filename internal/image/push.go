package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/archive"
	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/registry"
)

// Pusher writes one repository of a registry (registry.Repository).
type Pusher interface {
	// BlobExists reports whether the repository has the blob.
	BlobExists(ctx context.Context, dgst digest.Digest) (bool, error)
	// MountBlob links the blob from another repository of the registry;
	// false when the registry would not.
	MountBlob(ctx context.Context, dgst digest.Digest, from string) (bool, error)
	// PutBlob uploads size bytes of r as dgst.
	PutBlob(ctx context.Context, dgst digest.Digest, size int64, r io.Reader) error
	// PutManifest stores a manifest under ref and returns its digest.
	PutManifest(ctx context.Context, ref, mediaType string, data []byte) (digest.Digest, error)
}

// PushOptions are a push's parameters besides the reference.
type PushOptions struct {
	// MountFrom are repository paths of the same registry (test/other)
	// a blob the target lacks may be mounted from.
	MountFrom []string
	// Progress receives the push's steps, from one goroutine at a time.
	Progress func(Progress)
}

// PushResult is what a push stored in the registry.
type PushResult struct {
	Tag    string
	Digest digest.Digest
	Size   int
}

// parallelUploads is how many layers of one push upload at once, as
// dockerd's max-concurrent-uploads default.
const parallelUploads = 5

// Push uploads the image ref names to p under ref's tag: each layer and
// the config unless the registry has it (a HEAD), mounted from another
// repository of the registry when one of opts.MountFrom has it, then the
// manifest. An image that came from a registry is pushed with its
// manifest as it was pulled, so its digest stays; others get a docker
// schema 2 manifest whose layer media types say how each stored blob is
// compressed. The repo digest is added to the image's record.
func (s *Store) Push(ctx context.Context, ref reference.NamedTagged, p Pusher, opts PushOptions) (PushResult, error) {
	l, err := s.load(ref.String())
	if err != nil {
		return PushResult{}, err
	}
	mediaType, manifest, err := s.pushManifest(ctx, l)
	if err != nil {
		return PushResult{}, err
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(manifest, &man); err != nil {
		return PushResult{}, fmt.Errorf("push: manifest of %s: %w", l.id, err)
	}
	var pmu sync.Mutex
	report := func(ev Progress) {
		if opts.Progress != nil {
			pmu.Lock()
			defer pmu.Unlock()
			opts.Progress(ev)
		}
	}
	// Progress names a layer by its diff ID, as dockerd's push does.
	ids := make([]string, len(man.Layers))
	for i, d := range man.Layers {
		ids[i] = shortDigest(d.Digest)
		if i < len(l.rec.Layers) && l.rec.Layers[i].Blob == d.Digest {
			ids[i] = shortDigest(l.rec.Layers[i].DiffID)
		}
		report(Progress{ID: ids[i], Status: "Preparing"})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(man.Layers))
	sem := make(chan struct{}, parallelUploads)
	var wg sync.WaitGroup
	for i, d := range man.Layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			errs[i] = s.pushBlob(ctx, p, d, ids[i], opts.MountFrom, report)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && err != context.Canceled {
			return PushResult{}, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return PushResult{}, err
		}
	}
	if err := s.pushBlob(ctx, p, man.Config, "", opts.MountFrom, nil); err != nil {
		return PushResult{}, err
	}
	dgst, err := p.PutManifest(ctx, ref.Tag(), mediaType, manifest)
	if err != nil {
		return PushResult{}, err
	}
	if c, err := reference.WithDigest(reference.TrimNamed(ref), dgst); err == nil {
		s.mu.Lock()
		_ = s.db.Update(func(tx *bolt.Tx) error {
			rec, ok, err := getRecord(tx, l.id)
			if err != nil || !ok || containsString(rec.RepoDigests, c.String()) {
				return err
			}
			rec.RepoDigests = append(rec.RepoDigests, c.String())
			return putRecord(tx, l.id, rec)
		})
		s.mu.Unlock()
	}
	return PushResult{Tag: ref.Tag(), Digest: dgst, Size: len(manifest)}, nil
}

// pushManifest returns the manifest to push for l and its media type.
func (s *Store) pushManifest(ctx context.Context, l loaded) (string, []byte, error) {
	if l.rec.ManifestType != "" {
		if data, err := content.ReadAll(ctx, s.content, l.rec.Manifest); err == nil {
			return l.rec.ManifestType, data, nil
		}
	}
	cfg, err := s.content.Info(ctx, digest.Digest(l.id))
	if err != nil {
		return "", nil, fmt.Errorf("push: config of %s: %w", l.id, err)
	}
	man := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: registry.MediaTypeDockerManifest,
		Config:    ocispec.Descriptor{MediaType: registry.MediaTypeDockerConfig, Digest: cfg.Digest, Size: cfg.Size},
		Layers:    []ocispec.Descriptor{},
	}
	oci := false
	for _, ly := range l.rec.Layers {
		info, err := s.content.Info(ctx, ly.Blob)
		if err != nil {
			return "", nil, fmt.Errorf("push: layer %s of %s: %w", ly.Blob, l.id, err)
		}
		mt, err := s.blobMediaType(ctx, ly.Blob)
		if err != nil {
			return "", nil, err
		}
		oci = oci || mt == ocispec.MediaTypeImageLayerZstd
		man.Layers = append(man.Layers, ocispec.Descriptor{MediaType: mt, Digest: ly.Blob, Size: info.Size})
	}
	if oci {
		// Docker's schema 2 has no zstd layers: say it all in OCI terms.
		man.MediaType, man.Config.MediaType = ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig
		for i := range man.Layers {
			switch man.Layers[i].MediaType {
			case registry.MediaTypeDockerLayer:
				man.Layers[i].MediaType = ocispec.MediaTypeImageLayerGzip
			case registry.MediaTypeDockerLayerTar:
				man.Layers[i].MediaType = ocispec.MediaTypeImageLayer
			}
		}
	}
	data, err := json.Marshal(man)
	return man.MediaType, data, err
}

// blobMediaType names a stored layer blob's compression in docker's terms
// (OCI's for zstd).
func (s *Store) blobMediaType(ctx context.Context, d digest.Digest) (string, error) {
	rc, err := s.content.Open(ctx, d)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(rc, head)
	switch archive.Detect(head[:n]) {
	case archive.Gzip:
		return registry.MediaTypeDockerLayer, nil
	case archive.Zstd:
		return ocispec.MediaTypeImageLayerZstd, nil
	}
	return registry.MediaTypeDockerLayerTar, nil
}

func (s *Store) pushBlob(ctx context.Context, p Pusher, d ocispec.Descriptor, short string, mountFrom []string, report func(Progress)) error {
	if report == nil {
		report = func(Progress) {}
	}
	ok, err := p.BlobExists(ctx, d.Digest)
	if err != nil {
		return err
	}
	if ok {
		report(Progress{ID: short, Status: "Layer already exists"})
		return nil
	}
	for _, from := range mountFrom {
		ok, err := p.MountBlob(ctx, d.Digest, from)
		if err != nil {
			return err
		}
		if ok {
			report(Progress{ID: short, Status: "Mounted from " + from})
			return nil
		}
	}
	rc, err := s.content.Open(ctx, d.Digest)
	if err != nil {
		return fmt.Errorf("push: blob %s: %w", d.Digest, err)
	}
	defer rc.Close()
	var r io.Reader = rc
	if d.Size > 1<<20 || report != nil {
		r = &progressReader{r: rc, every: 512 << 10, fn: func(n int64) {
			report(Progress{ID: short, Status: "Pushing", Current: n, Total: d.Size})
		}}
	}
	if err := p.PutBlob(ctx, d.Digest, d.Size, r); err != nil {
		return err
	}
	report(Progress{ID: short, Status: "Pushed"})
	return nil
}

// writeBytes stores data (a manifest or config) as d.
func (s *Store) writeBytes(ctx context.Context, data []byte) (content.Info, error) {
	return s.content.Write(ctx, bytes.NewReader(data), digest.FromBytes(data))
}

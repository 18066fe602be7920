package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/archive"
	"github.com/berth-engine/berth/internal/content"
)

// Loaded is one image a Load stored: its ID and the tags (familiar form)
// the archive gave it.
type Loaded struct {
	ID   string
	Tags []string
	// Moved maps each of Tags that named another image before the load
	// to that image's ID.
	Moved map[string]string
}

// Load stores the images of an archive docker save or an OCI image layout
// tar (plain or compressed) holds: manifest.json when there is one, else
// index.json. Every config and layer is checked against the digests the
// archive names (diff IDs for the uncompressed layers, blob names for an OCI
// layout), layers are stored uncompressed and unpacked with the safe
// unpacker, and each image's record and tags are committed in one
// transaction. ErrInvalidParameter for a malformed archive or a digest that
// does not match; images stored before such an error stay.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]Loaded, error) {
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(s.tmp, "load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	a := &loadArchive{dir: dir, links: map[string]string{}, ctx: ctx, cs: s.content, blobs: map[string]digest.Digest{}}
	// Large files went straight to the content store; those no image
	// ended up using are removed again.
	defer func() {
		for _, d := range a.blobs {
			s.dropBlob(ctx, d)
		}
	}()
	if err := a.spool(r); err != nil {
		return nil, err
	}

	var out []Loaded
	if data, err := a.read("manifest.json"); err == nil {
		var entries []saveEntry
		if err := json.Unmarshal(data, &entries); err != nil {
			return nil, invalidf(fmt.Sprintf("invalid manifest.json: %v", err))
		}
		for _, e := range entries {
			l, err := s.loadImage(ctx, a, e.Config, "", e.Layers, nil, e.RepoTags)
			if err != nil {
				return out, err
			}
			out = append(out, l)
		}
		return out, nil
	}
	data, err := a.read("index.json")
	if err != nil {
		return nil, invalidf("invalid archive: it has neither manifest.json nor index.json")
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, invalidf(fmt.Sprintf("invalid index.json: %v", err))
	}
	for _, d := range idx.Manifests {
		l, err := s.loadOCI(ctx, a, d, 0)
		if err != nil {
			return out, err
		}
		if l.ID != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// loadOCI loads the image manifest d names, or from an index the manifest
// for this platform. An index with none for it loads nothing.
func (s *Store) loadOCI(ctx context.Context, a *loadArchive, d ocispec.Descriptor, depth int) (Loaded, error) {
	data, err := a.blob(d.Digest)
	if err != nil {
		return Loaded{}, err
	}
	var tags []string
	if n := d.Annotations["io.containerd.image.name"]; n != "" {
		tags = []string{n}
	}
	switch d.MediaType {
	case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
		if depth > 2 {
			return Loaded{}, invalidf("invalid archive: indexes nested too deep")
		}
		var idx ocispec.Index
		if err := json.Unmarshal(data, &idx); err != nil {
			return Loaded{}, invalidf(fmt.Sprintf("invalid index %s: %v", d.Digest, err))
		}
		for _, m := range idx.Manifests {
			if m.Platform != nil && (m.Platform.OS != "linux" || m.Platform.Architecture != runtime.GOARCH) {
				continue
			}
			if m.Annotations == nil {
				m.Annotations = map[string]string{}
			}
			if len(tags) > 0 {
				m.Annotations["io.containerd.image.name"] = tags[0]
			}
			return s.loadOCI(ctx, a, m, depth+1)
		}
		return Loaded{}, nil
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Loaded{}, invalidf(fmt.Sprintf("invalid manifest %s: %v", d.Digest, err))
	}
	var layers []string
	var digests []digest.Digest
	for _, l := range m.Layers {
		layers = append(layers, blobPath(l.Digest))
		digests = append(digests, l.Digest)
	}
	return s.loadImage(ctx, a, blobPath(m.Config.Digest), m.Config.Digest, layers, digests, tags)
}

func blobPath(d digest.Digest) string { return "blobs/" + d.Algorithm().String() + "/" + d.Encoded() }

// loadImage stores one image: config at cfgPath (whose digest must be
// cfgDigest when that is set), the layer files in order (each a blob whose
// digest must be the matching blobDigests entry when given), and tags. When
// it fails, the layer blobs and snapshots it added and no record uses are
// removed again: the store is as before.
func (s *Store) loadImage(ctx context.Context, a *loadArchive, cfgPath string, cfgDigest digest.Digest, layerPaths []string, blobDigests []digest.Digest, tags []string) (_ Loaded, retErr error) {
	var tagged []string
	for _, t := range tags {
		nt, err := parseTag(t)
		if err != nil {
			return Loaded{}, err
		}
		tagged = append(tagged, nt.String())
	}
	cfgData, err := a.read(cfgPath)
	if err != nil {
		return Loaded{}, err
	}
	id := digest.FromBytes(cfgData)
	if cfgDigest != "" && id != cfgDigest {
		return Loaded{}, invalidf(fmt.Sprintf("invalid archive: config %s has digest %s", cfgDigest, id))
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(cfgData, &img); err != nil {
		return Loaded{}, invalidf(fmt.Sprintf("invalid image config %s: %v", id, err))
	}
	diffIDs := img.RootFS.DiffIDs
	if len(diffIDs) != len(layerPaths) {
		return Loaded{}, invalidf(fmt.Sprintf("invalid archive: image %s has %d layers and %d diff IDs", id, len(layerPaths), len(diffIDs)))
	}
	if img.OS != "" && img.OS != "linux" {
		return Loaded{}, invalidf(fmt.Sprintf("image %s is for %s, not linux", id, img.OS))
	}

	var newBlobs, newChains []digest.Digest
	defer func() {
		if retErr == nil {
			return
		}
		cctx := context.WithoutCancel(ctx)
		for i := len(newChains) - 1; i >= 0; i-- {
			if s.layerSize(newChains[i]) < 0 && !s.held(newChains[i].String()) {
				_ = s.sn.Remove(cctx, newChains[i].String())
			}
		}
		for _, d := range newBlobs {
			if !s.held(d.String()) {
				s.dropBlob(cctx, d)
			}
		}
	}()
	// Layers are stored uncompressed: their blob digest is their diff ID,
	// which the write checks.
	for i, p := range layerPaths {
		if _, err := s.content.Info(ctx, diffIDs[i]); err != nil {
			newBlobs = append(newBlobs, diffIDs[i])
		}
		var want digest.Digest
		if blobDigests != nil {
			want = blobDigests[i]
		}
		if err := s.loadLayer(ctx, a, p, want, diffIDs[i]); err != nil {
			return Loaded{}, err
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rec := record{Created: time.Now().UTC()}
	if img.Created != nil {
		rec.Created = *img.Created
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Layers:    []ocispec.Descriptor{},
	}
	parent := ""
	for i, d := range diffIDs {
		chain := identity.ChainID(diffIDs[:i+1])
		if _, err := s.sn.Stat(ctx, chain.String()); err != nil {
			newChains = append(newChains, chain)
		}
		size, err := s.unpack(ctx, d, chain, parent)
		if err != nil {
			if errors.Is(err, archive.ErrUnsafe) || errors.Is(err, archive.ErrCorrupt) {
				return Loaded{}, invalidf(fmt.Sprintf("load: layer %s: %v", d, err))
			}
			return Loaded{}, fmt.Errorf("load: layer %s: %w", d, err)
		}
		info, err := s.content.Info(ctx, d)
		if err != nil {
			return Loaded{}, fmt.Errorf("load: %w", err)
		}
		rec.Layers = append(rec.Layers, layer{DiffID: d, Blob: d, Size: size, ChainID: chain})
		manifest.Layers = append(manifest.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: info.Size})
		parent = chain.String()
	}
	cfgBlob, err := s.content.Write(ctx, bytes.NewReader(cfgData), id)
	if err != nil {
		return Loaded{}, fmt.Errorf("load: %w", err)
	}
	manifest.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: id, Size: cfgBlob.Size}
	mBlob, err := s.writeJSON(ctx, manifest)
	if err != nil {
		return Loaded{}, fmt.Errorf("load: %w", err)
	}
	rec.Manifest, rec.ManifestSize = mBlob.Digest, mBlob.Size
	var moved map[string]string
	err = s.db.Update(func(tx *bolt.Tx) error {
		if old, ok, err := getRecord(tx, id.String()); err == nil && ok {
			rec.LastTagTime = old.LastTagTime // an image loaded again keeps its record
		}
		if len(tagged) > 0 {
			rec.LastTagTime = time.Now().UTC()
		}
		for i, t := range tagged {
			if old := tx.Bucket(bucketRefs).Get([]byte(t)); old != nil && string(old) != id.String() {
				if moved == nil {
					moved = map[string]string{}
				}
				nt, _ := parseTag(tags[i])
				moved[reference.FamiliarString(nt)] = string(old)
			}
			if err := tx.Bucket(bucketRefs).Put([]byte(t), []byte(id.String())); err != nil {
				return err
			}
		}
		return putRecord(tx, id.String(), rec)
	})
	if err != nil {
		return Loaded{}, fmt.Errorf("load: %w", err)
	}
	s.syncIndex(ctx)
	l := Loaded{ID: id.String(), Moved: moved}
	for _, t := range tags {
		nt, _ := parseTag(t)
		l.Tags = append(l.Tags, reference.FamiliarString(nt))
	}
	return l, nil
}

// loadLayer stores the layer file p uncompressed, checking that it is the
// blob want (when set) and decompresses to diffID.
func (s *Store) loadLayer(ctx context.Context, a *loadArchive, p string, want, diffID digest.Digest) error {
	if d, ok := a.spooled(p); ok && d == diffID && (want == "" || want == d) {
		return nil // spooled as the uncompressed layer it is
	}
	f, err := a.open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	dg := digest.SHA256.Digester()
	src := io.TeeReader(f, dg.Hash())
	dr, _, err := archive.Decompress(src)
	if err != nil {
		return invalidf(fmt.Sprintf("invalid layer %s: %v", p, err))
	}
	_, err = s.content.Write(ctx, dr, diffID)
	dr.Close()
	if err != nil {
		if errors.Is(err, content.ErrInvalidArgument) {
			return invalidf(fmt.Sprintf("invalid archive: layer %s does not match its diff ID %s: %v", p, diffID, err))
		}
		return fmt.Errorf("load: %w", err)
	}
	if want != "" {
		if _, err := io.Copy(io.Discard, src); err != nil {
			return err
		}
		if dg.Digest() != want {
			return invalidf(fmt.Sprintf("invalid archive: blob %s has digest %s", want, dg.Digest()))
		}
	}
	return nil
}

// loadArchive is an archive spooled to a directory: its regular files
// there, its symlinks (docker 25 links the legacy layer paths to blobs)
// kept as a map and followed by open.
type loadArchive struct {
	dir   string
	links map[string]string // cleaned path → cleaned target
	// Files of at least spoolBlobSize are written to the content store
	// as they are read (a layer is then stored once, not copied again).
	ctx   context.Context
	cs    content.Store
	blobs map[string]digest.Digest // cleaned path → blob
}

// spoolBlobSize is the size from which an archive's file is spooled into
// the content store rather than the spool directory.
const spoolBlobSize = 1 << 20

func (a *loadArchive) spool(r io.Reader) error {
	dr, _, err := archive.Decompress(r)
	if err != nil {
		return invalidf(fmt.Sprintf("invalid archive: %v", err))
	}
	defer dr.Close()
	tr := tar.NewReader(dr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return invalidf(fmt.Sprintf("invalid archive: %v", err))
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			if hdr.Size >= spoolBlobSize && a.cs != nil {
				info, err := a.cs.Write(a.ctx, tr, "")
				if err != nil {
					if a.ctx.Err() != nil {
						return a.ctx.Err()
					}
					return invalidf(fmt.Sprintf("invalid archive: %s: %v", hdr.Name, err))
				}
				a.blobs[name] = info.Digest
				continue
			}
			p := filepath.Join(a.dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return invalidf(fmt.Sprintf("invalid archive: %s: %v", hdr.Name, err))
			}
		case tar.TypeSymlink:
			target := hdr.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			a.links[name] = path.Clean("/" + target)
		case tar.TypeLink:
			a.links[name] = path.Clean("/" + hdr.Linkname)
		}
	}
}

// resolve follows the links from the archive's file name.
func (a *loadArchive) resolve(name string) string {
	p := path.Clean("/" + name)
	for range 16 {
		t, ok := a.links[p]
		if !ok {
			break
		}
		p = t
	}
	return p
}

// spooled reports the content store blob the file name was spooled to.
func (a *loadArchive) spooled(name string) (digest.Digest, bool) {
	d, ok := a.blobs[a.resolve(name)]
	return d, ok
}

// open opens the archive's file name, following its links.
func (a *loadArchive) open(name string) (io.ReadCloser, error) {
	p := a.resolve(name)
	if d, ok := a.blobs[p]; ok {
		return a.cs.Open(a.ctx, d)
	}
	f, err := os.Open(filepath.Join(a.dir, filepath.FromSlash(p)))
	if err != nil {
		return nil, invalidf(fmt.Sprintf("invalid archive: %s is missing", name))
	}
	return f, nil
}

func (a *loadArchive) read(name string) ([]byte, error) {
	f, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<20))
}

// blob reads the OCI blob dgst, checking its digest.
func (a *loadArchive) blob(dgst digest.Digest) ([]byte, error) {
	if err := dgst.Validate(); err != nil {
		return nil, invalidf(fmt.Sprintf("invalid archive: digest %q: %v", dgst, err))
	}
	data, err := a.read(blobPath(dgst))
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(data); got != dgst {
		return nil, invalidf(fmt.Sprintf("invalid archive: blob %s has digest %s", dgst, got))
	}
	return data, nil
}

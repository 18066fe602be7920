package image

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/snapshot"
)

var (
	bucketImages = []byte("images") // image ID → record
	bucketRefs   = []byte("refs")   // docker.io/library/busybox:latest → image ID
)

// extractPrefix names the active snapshots a layer is unpacked into before it
// is committed under its chain ID; any left at open were cut off by a crash.
const extractPrefix = "extract-"

// layer is one layer of an image.
type layer struct {
	DiffID  digest.Digest `json:"diffID"`
	Blob    digest.Digest `json:"blob"`    // in the content store
	Size    int64         `json:"size"`    // uncompressed, as docker reports
	ChainID digest.Digest `json:"chainID"` // the snapshot key
}

// record is an image's metadata; its key is the config digest (the image ID).
type record struct {
	Manifest     digest.Digest `json:"manifest"`
	ManifestSize int64         `json:"manifestSize"`
	// ManifestType is the manifest's media type when it came from a
	// registry (docker's schema 2 or OCI); empty means OCI.
	ManifestType string `json:"manifestType,omitempty"`
	// RepoDigests are the repo@digest names a pull or push gave the
	// image (normalised), digest being the manifest's or index's.
	RepoDigests []string  `json:"repoDigests,omitempty"`
	Layers      []layer   `json:"layers"`
	Created     time.Time `json:"created"`
	LastTagTime time.Time `json:"lastTagTime,omitzero"`
	// Parent is the image a commit was made from (docker's local parent
	// chain); empty for imported and loaded images.
	Parent digest.Digest `json:"parent,omitempty"`
}

func (r record) size() int64 {
	var n int64
	for _, l := range r.Layers {
		n += l.Size
	}
	return n
}

func (r record) manifestType() string {
	if r.ManifestType != "" {
		return r.ManifestType
	}
	return ocispec.MediaTypeImageManifest
}

func (r record) chainID() string {
	if len(r.Layers) == 0 {
		return ""
	}
	return r.Layers[len(r.Layers)-1].ChainID.String()
}

// Options are the daemon's hooks into the store.
type Options struct {
	// Containers reports the IDs of the running and stopped containers
	// created from imageID, for docker's delete conflicts. Nil means none.
	Containers func(imageID string) (running, stopped []string)
}

// Store is the image store.
type Store struct {
	db      *bolt.DB
	content content.Store
	sn      snapshot.Snapshotter
	opts    Options
	tmp     string // where load spools an archive; emptied at open
	// mu orders imports against deletes, which remove snapshots and blobs
	// an import may be about to reuse.
	mu sync.Mutex
	// flights are the layer downloads under way, shared by pulls.
	flights flights
}

// New opens (creating) the store's metadata at <root>/meta.db over the given
// content store and snapshotter, removing layer unpacks a crash cut off.
func New(ctx context.Context, root string, cs content.Store, sn snapshot.Snapshotter, opts Options) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(root, "meta.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketImages, bucketRefs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("image store: %w", err)
	}
	s := &Store{db: db, content: cs, sn: sn, opts: opts, tmp: filepath.Join(root, "tmp")}
	// What is there was left by a load a crash cut off.
	_ = os.RemoveAll(s.tmp)
	var stale []string
	_ = sn.Walk(ctx, func(i snapshot.Info) error {
		if strings.HasPrefix(i.Name, extractPrefix) {
			stale = append(stale, i.Name)
		}
		return nil
	})
	for _, k := range stale {
		_ = sn.Remove(ctx, k)
	}
	s.syncIndex(ctx)
	return s, nil
}

// Close closes the metadata file (not the content store or snapshotter).
func (s *Store) Close() error { return s.db.Close() }

func getRecord(tx *bolt.Tx, id string) (record, bool, error) {
	v := tx.Bucket(bucketImages).Get([]byte(id))
	if v == nil {
		return record{}, false, nil
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return record{}, false, fmt.Errorf("image %s: corrupt record: %w", id, err)
	}
	return r, true, nil
}

func putRecord(tx *bolt.Tx, id string, r record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketImages).Put([]byte(id), v)
}

// refsOf returns the tags pointing at id, parsed and sorted.
func refsOf(tx *bolt.Tx, id string) []reference.Named {
	var out []reference.Named
	_ = tx.Bucket(bucketRefs).ForEach(func(k, v []byte) error {
		if string(v) != id {
			return nil
		}
		if n, err := reference.ParseNormalizedNamed(string(k)); err == nil {
			out = append(out, n)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return reference.FamiliarString(out[i]) < reference.FamiliarString(out[j]) })
	return out
}

func familiar(refs []reference.Named) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, reference.FamiliarString(r))
	}
	return out
}

// parseTag normalises a user's image name for storing or looking up a tag:
// busybox → docker.io/library/busybox:latest. Digest references are refused.
func parseTag(s string) (reference.NamedTagged, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, invalidf(fmt.Sprintf("invalid reference format: %v", err))
	}
	if _, ok := named.(reference.Canonical); ok {
		return nil, invalidf("refusing to create a tag with a digest reference")
	}
	tagged, ok := reference.TagNameOnly(named).(reference.NamedTagged)
	if !ok {
		return nil, invalidf(fmt.Sprintf("invalid reference format: %s", s))
	}
	return tagged, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// resolve finds the image refOrID names, as docker does: a full ID
// (sha256:<hex> or <hex>), then a tag, then a unique ID prefix. ref is the tag
// when one matched, nil otherwise.
func resolve(tx *bolt.Tx, refOrID string) (id string, ref reference.Named, err error) {
	if refOrID == "" {
		return "", nil, invalidf("image name cannot be blank")
	}
	images := tx.Bucket(bucketImages)
	if d, err := digest.Parse(refOrID); err == nil {
		if images.Get([]byte(d.String())) != nil {
			return d.String(), nil, nil
		}
		return "", nil, noSuchImage(refOrID)
	}
	if len(refOrID) == 64 && isHex(refOrID) {
		if id := "sha256:" + refOrID; images.Get([]byte(id)) != nil {
			return id, nil, nil
		}
		return "", nil, noSuchImage(refOrID)
	}
	display := refOrID
	if named, err := reference.ParseNormalizedNamed(refOrID); err == nil {
		if cn, isDigest := named.(reference.Canonical); isDigest {
			// repo@sha256:... names the image a pull or push gave that
			// repo digest.
			c, err := reference.WithDigest(reference.TrimNamed(cn), cn.Digest())
			if err != nil {
				return "", nil, noSuchImage(refOrID)
			}
			var found string
			_ = images.ForEach(func(k, v []byte) error {
				var r record
				if found == "" && json.Unmarshal(v, &r) == nil && containsString(r.RepoDigests, c.String()) {
					found = string(k)
				}
				return nil
			})
			if found != "" {
				return found, c, nil
			}
			return "", nil, noSuchImage(reference.FamiliarString(c))
		}
		named = reference.TagNameOnly(named)
		display = reference.FamiliarString(named)
		if v := tx.Bucket(bucketRefs).Get([]byte(named.String())); v != nil {
			return string(v), named, nil
		}
	}
	prefix := strings.TrimPrefix(refOrID, "sha256:")
	if isHex(prefix) {
		var match string
		c := images.Cursor()
		p := []byte("sha256:" + prefix)
		for k, _ := c.Seek(p); k != nil && strings.HasPrefix(string(k), string(p)); k, _ = c.Next() {
			if match != "" {
				return "", nil, noSuchImage(refOrID) // ambiguous
			}
			match = string(k)
		}
		if match != "" {
			return match, nil, nil
		}
	}
	return "", nil, noSuchImage(display)
}

// Resolve returns the ID (sha256:<hex>) of the image refOrID names: a tag
// (busybox, busybox:1.36), a full ID or a unique ID prefix. ErrNotFound with
// docker's "No such image: x" when none does.
func (s *Store) Resolve(ctx context.Context, refOrID string) (string, error) {
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		id, _, err = resolve(tx, refOrID)
		return err
	})
	return id, err
}

// RootFS returns the snapshot key (the top layer's chain ID) a container made
// from the image prepares its writable layer on. Errors as Resolve.
func (s *Store) RootFS(ctx context.Context, refOrID string) (string, error) {
	var key string
	err := s.db.View(func(tx *bolt.Tx) error {
		id, _, err := resolve(tx, refOrID)
		if err != nil {
			return err
		}
		r, _, err := getRecord(tx, id)
		key = r.chainID()
		return err
	})
	return key, err
}

// Tag points target (normalised, ":latest" when untagged) at the image source
// names, moving the tag if it pointed elsewhere. ErrNotFound when source
// names no image, ErrInvalidParameter when target is not a valid tag.
func (s *Store) Tag(ctx context.Context, source, target string) error {
	tagged, err := parseTag(target)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.syncIndex(ctx)
	return s.db.Update(func(tx *bolt.Tx) error {
		id, _, err := resolve(tx, source)
		if err != nil {
			return err
		}
		r, _, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		r.LastTagTime = time.Now().UTC()
		if err := putRecord(tx, id, r); err != nil {
			return err
		}
		return tx.Bucket(bucketRefs).Put([]byte(tagged.String()), []byte(id))
	})
}

// indexWriter is a content store laid out as an OCI image layout.
type indexWriter interface {
	WriteIndex(ctx context.Context, idx ocispec.Index) error
}

// syncIndex rewrites the layout's index.json from the records, one entry
// per tag (and one per untagged image) so standard OCI tools see the images.
// It is a derived view, rebuilt after every change and at open, so a failure
// here loses nothing. Callers hold s.mu (or are New).
func (s *Store) syncIndex(ctx context.Context) {
	iw, ok := s.content.(indexWriter)
	if !ok {
		return
	}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			r, _, err := getRecord(tx, string(k))
			if err != nil {
				return nil
			}
			d := ocispec.Descriptor{MediaType: r.manifestType(), Digest: r.Manifest, Size: r.ManifestSize}
			refs := refsOf(tx, string(k))
			if len(refs) == 0 {
				idx.Manifests = append(idx.Manifests, d)
			}
			for _, ref := range refs {
				d := d
				d.Annotations = map[string]string{ocispec.AnnotationRefName: ref.String()}
				idx.Manifests = append(idx.Manifests, d)
			}
			return nil
		})
	})
	if err == nil {
		_ = iw.WriteIndex(ctx, idx)
	}
}

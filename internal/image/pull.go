package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/registry"
)

// Fetcher reads one repository of a registry (registry.Repository).
type Fetcher interface {
	// Manifest returns the manifest or index ref (tag or digest) names,
	// checked against its digest and capped in size.
	Manifest(ctx context.Context, ref string) (registry.Manifest, error)
	// Blob streams the blob dgst; size is -1 when unknown.
	Blob(ctx context.Context, dgst digest.Digest) (io.ReadCloser, int64, error)
}

// Progress is one step of a pull or push for one layer (ID is the short
// blob digest docker shows) or, with ID empty, for the whole image.
type Progress struct {
	ID      string
	Status  string // docker's words: Pulling fs layer, Downloading, ...
	Current int64
	Total   int64 // 0 when the step has no progress bar
}

// PullOptions are a pull's parameters besides the reference.
type PullOptions struct {
	// Platform selects from an index and must match the image's config;
	// zero means linux on this machine's architecture, for an index only.
	Platform ocispec.Platform
	// Progress receives the pull's steps, from one goroutine at a time.
	Progress func(Progress)
}

// PullResult is what a pull stored.
type PullResult struct {
	ID     string        // image ID (config digest)
	Digest digest.Digest // of the manifest or index the reference named
	// Updated is false when the reference already named this image.
	Updated bool
}

// maxConfigSize caps an image config, which is read whole.
const maxConfigSize = 8 << 20

// parallelDownloads is how many layers of one pull download at once, as
// dockerd's max-concurrent-downloads default.
const parallelDownloads = 3

// ParsePlatform reads os[/arch[/variant]] (docker's --platform).
func ParsePlatform(s string) (ocispec.Platform, error) {
	p := DefaultPlatform()
	if s == "" {
		return p, nil
	}
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) > 3 || parts[0] == "" {
		return p, invalidf(fmt.Sprintf("%q: unknown operating system or architecture: invalid argument", s))
	}
	p = ocispec.Platform{OS: parts[0], Architecture: runtime.GOARCH}
	if len(parts) > 1 {
		p.Architecture = normArch(parts[1])
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	if p.OS != "linux" {
		return p, invalidf(fmt.Sprintf("operating system %q is not supported", p.OS))
	}
	return p, nil
}

// DefaultPlatform is linux on this machine's architecture.
func DefaultPlatform() ocispec.Platform {
	p := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm" {
		p.Variant = "v7"
	}
	return p
}

func normArch(a string) string {
	switch a {
	case "x86_64", "x86-64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return a
}

func platformString(p ocispec.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func platformMatch(want ocispec.Platform, got ocispec.Platform) bool {
	if got.OS != want.OS || normArch(got.Architecture) != want.Architecture {
		return false
	}
	if want.Variant == "" || got.Variant == want.Variant {
		return true
	}
	return want.Architecture == "arm64" && (got.Variant == "" || got.Variant == "v8") && want.Variant == "v8"
}

// pull is one pull's state: what it created, so a failure can take it
// away again.
type pull struct {
	s        *Store
	f        Fetcher
	progress func(Progress)
	strict   bool     // the platform was asked for
	held     []string // blobs and chain IDs this pull holds
	pmu      sync.Mutex
	newBlobs []digest.Digest
	newSnaps []string
}

func (p *pull) report(ev Progress) {
	if p.progress == nil {
		return
	}
	p.pmu.Lock()
	defer p.pmu.Unlock()
	p.progress(ev)
}

// Pull stores the image ref names (tagged or canonical) from f: the
// manifest, chosen from an index by opts.Platform, its config and layers,
// every blob checked against its digest while it is written to the
// content store (temp file, check, rename), layers downloading in
// parallel while the ones before them unpack, each layer's diff ID
// checked as it unpacks. The record, tag and repo digest are committed
// last, in one transaction. A layer another pull is fetching meanwhile is
// waited for, not fetched twice. On any error (including ctx's) the blobs
// and snapshots the pull added are removed again, so the store is as it
// was. Registry errors keep their class; content that does not match its
// digest is ErrInvalidParameter.
func (s *Store) Pull(ctx context.Context, ref reference.Named, f Fetcher, opts PullOptions) (PullResult, error) {
	// Asked for, the platform must match the image's config; by default
	// it only chooses from an index (dockerd pulls a single-platform
	// image for another architecture without one).
	strict := opts.Platform.OS != ""
	if !strict {
		opts.Platform = DefaultPlatform()
	}
	p := &pull{s: s, f: f, progress: opts.Progress, strict: strict}
	res, err := p.run(ctx, ref, opts.Platform)
	if err != nil {
		p.undo(ctx)
	}
	s.unhold(p.held)
	return res, err
}

func (p *pull) run(ctx context.Context, ref reference.Named, plat ocispec.Platform) (PullResult, error) {
	s := p.s
	var refStr string
	switch r := ref.(type) {
	case reference.Canonical:
		refStr = r.Digest().String()
	case reference.Tagged:
		refStr = r.Tag()
	default:
		return PullResult{}, invalidf("pull: a tag or digest is required")
	}
	top, err := p.f.Manifest(ctx, refStr)
	if err != nil {
		return PullResult{}, manifestError(ref, err)
	}
	p.report(Progress{ID: refStr, Status: "Pulling from " + reference.Path(ref)})
	m := top
	if top.IsIndex() {
		var idx ocispec.Index
		if err := json.Unmarshal(top.Data, &idx); err != nil {
			return PullResult{}, invalidf(fmt.Sprintf("invalid index %s: %v", top.Digest, err))
		}
		var pick *ocispec.Descriptor
		for i, d := range idx.Manifests {
			if d.Platform != nil && platformMatch(plat, *d.Platform) {
				pick = &idx.Manifests[i]
				break
			}
		}
		if pick == nil {
			return PullResult{}, notFound(fmt.Sprintf("no matching manifest for %s in the manifest list entries", platformString(plat)))
		}
		if err := pick.Digest.Validate(); err != nil {
			return PullResult{}, invalidf(fmt.Sprintf("invalid index %s: %v", top.Digest, err))
		}
		m, err = p.f.Manifest(ctx, pick.Digest.String())
		if err != nil {
			return PullResult{}, manifestError(ref, err)
		}
		if m.Digest != pick.Digest || m.IsIndex() {
			return PullResult{}, invalidf(fmt.Sprintf("manifest %s from index %s is not an image manifest with that digest", pick.Digest, top.Digest))
		}
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(m.Data, &man); err != nil {
		return PullResult{}, invalidf(fmt.Sprintf("invalid manifest %s: %v", m.Digest, err))
	}
	if err := man.Config.Digest.Validate(); err != nil {
		return PullResult{}, invalidf(fmt.Sprintf("invalid manifest %s: config digest: %v", m.Digest, err))
	}
	for _, l := range man.Layers {
		if err := l.Digest.Validate(); err != nil {
			return PullResult{}, invalidf(fmt.Sprintf("invalid manifest %s: layer digest: %v", m.Digest, err))
		}
		if !layerMediaType(l.MediaType) {
			return PullResult{}, invalidf(fmt.Sprintf("manifest %s: unsupported layer media type %s", m.Digest, l.MediaType))
		}
	}

	cfgData, err := p.smallBlob(ctx, man.Config.Digest)
	if err != nil {
		return PullResult{}, err
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(cfgData, &img); err != nil {
		return PullResult{}, invalidf(fmt.Sprintf("invalid image config %s: %v", man.Config.Digest, err))
	}
	if len(img.RootFS.DiffIDs) != len(man.Layers) {
		return PullResult{}, invalidf(fmt.Sprintf("image %s: %d layers and %d diff IDs", man.Config.Digest, len(man.Layers), len(img.RootFS.DiffIDs)))
	}
	if p.strict && img.OS != "" && (img.OS != plat.OS || normArch(img.Architecture) != plat.Architecture) {
		return PullResult{}, notFound(fmt.Sprintf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s", reference.FamiliarString(ref), platformString(plat), platformString(ocispec.Platform{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant})))
	}
	for _, d := range img.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return PullResult{}, invalidf(fmt.Sprintf("invalid image config %s: diff ID: %v", man.Config.Digest, err))
		}
	}
	id := man.Config.Digest.String()

	var keys []string
	for i, l := range man.Layers {
		keys = append(keys, l.Digest.String(), identity.ChainID(img.RootFS.DiffIDs[:i+1]).String())
	}
	s.hold(keys)
	p.held = append(p.held, keys...)
	// An image the store has whole, from these very blobs, is not
	// fetched again (dockerd says nothing about its layers then either).
	layers, complete := s.completeLayers(ctx, id, man.Layers)
	if !complete {
		if layers, err = p.layers(ctx, man.Layers, img.RootFS.DiffIDs); err != nil {
			return PullResult{}, err
		}
	}
	for _, b := range []struct {
		data []byte
		d    digest.Digest
	}{{cfgData, man.Config.Digest}, {m.Data, m.Digest}} {
		if err := p.writeBlob(ctx, bytes.NewReader(b.data), b.d); err != nil {
			return PullResult{}, err
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	res := PullResult{ID: id, Digest: top.Digest, Updated: true}
	var canonical string
	if c, err := reference.WithDigest(reference.TrimNamed(ref), top.Digest); err == nil {
		canonical = c.String()
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		rec := record{Manifest: m.Digest, ManifestSize: int64(len(m.Data)), ManifestType: m.MediaType, Layers: layers, Created: time.Now().UTC()}
		if img.Created != nil {
			rec.Created = *img.Created
		}
		old, ok, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		if ok {
			rec.LastTagTime, rec.Parent, rec.RepoDigests = old.LastTagTime, old.Parent, old.RepoDigests
		}
		if canonical != "" && !containsString(rec.RepoDigests, canonical) {
			rec.RepoDigests = append(rec.RepoDigests, canonical)
		}
		if tagged, isTag := ref.(reference.NamedTagged); isTag {
			if cur := tx.Bucket(bucketRefs).Get([]byte(tagged.String())); string(cur) == id && ok {
				res.Updated = false
			} else {
				rec.LastTagTime = time.Now().UTC()
				if err := tx.Bucket(bucketRefs).Put([]byte(tagged.String()), []byte(id)); err != nil {
					return err
				}
			}
		} else if ok {
			res.Updated = false
		}
		return putRecord(tx, id, rec)
	})
	if err != nil {
		return PullResult{}, fmt.Errorf("pull: %w", err)
	}
	p.newBlobs, p.newSnaps = nil, nil // committed: nothing to undo
	s.syncIndex(ctx)
	return res, nil
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func layerMediaType(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayerZstd,
		registry.MediaTypeDockerLayer, registry.MediaTypeDockerLayerTar,
		ocispec.MediaTypeImageLayerNonDistributable, ocispec.MediaTypeImageLayerNonDistributableGzip, //nolint:staticcheck // still pulled
		ocispec.MediaTypeImageLayerNonDistributableZstd, //nolint:staticcheck // still pulled
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
		return true
	}
	return false
}

// manifestError words a failed manifest fetch as dockerd does: "manifest
// for x not found: manifest unknown: manifest unknown".
func manifestError(ref reference.Named, err error) error {
	var re *registry.Error
	if errors.As(err, &re) && (re.Status == 404 || re.Has("MANIFEST_UNKNOWN")) {
		return &classError{ErrNotFound, fmt.Sprintf("manifest for %s not found: %s", reference.FamiliarString(ref), re.Error())}
	}
	return err
}

// smallBlob reads a config blob whole, checking its digest.
func (p *pull) smallBlob(ctx context.Context, d digest.Digest) ([]byte, error) {
	if data, err := content.ReadAll(ctx, p.s.content, d); err == nil {
		return data, nil
	}
	rc, size, err := p.f.Blob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxConfigSize {
		return nil, invalidf(fmt.Sprintf("config %s is %d bytes, over the %d allowed", d, size, maxConfigSize))
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", d, err)
	}
	if len(data) > maxConfigSize {
		return nil, invalidf(fmt.Sprintf("config %s is over the %d bytes allowed", d, maxConfigSize))
	}
	if got := digest.FromBytes(data); got != d {
		return nil, invalidf(fmt.Sprintf("config %s: the registry sent content with digest %s", d, got))
	}
	return data, nil
}

// writeBlob stores r as d unless the store has it, remembering that this
// pull added it.
func (p *pull) writeBlob(ctx context.Context, r io.Reader, d digest.Digest) error {
	if _, err := p.s.content.Info(ctx, d); err == nil {
		return nil
	}
	if _, err := p.s.content.Write(ctx, r, d); err != nil {
		if errors.Is(err, content.ErrInvalidArgument) {
			return invalidf(fmt.Sprintf("blob %s: %v", d, err))
		}
		return err
	}
	p.pmu.Lock()
	p.newBlobs = append(p.newBlobs, d)
	p.pmu.Unlock()
	return nil
}

// undo removes what a failed pull added and no record uses.
func (p *pull) undo(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	used := map[string]bool{}
	_ = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			var r record
			if json.Unmarshal(v, &r) == nil {
				used[string(k)], used[r.Manifest.String()] = true, true
				for _, l := range r.Layers {
					used[l.Blob.String()], used[l.ChainID.String()] = true, true
				}
			}
			return nil
		})
	})
	for i := len(p.newSnaps) - 1; i >= 0; i-- {
		if !used[p.newSnaps[i]] && !s.heldByOthers(p.newSnaps[i]) {
			_ = s.sn.Remove(ctx, p.newSnaps[i])
		}
	}
	for _, b := range p.newBlobs {
		if !used[b.String()] && !s.heldByOthers(b.String()) {
			_ = s.content.Delete(ctx, b)
		}
	}
}

// flight is one blob download, shared by the pulls that need it.
type flight struct {
	done chan struct{}
	err  error
}

// flights are the downloads under way in the store, and the blobs and
// snapshots the pulls under way hold: a failed pull leaves those another
// pull holds for that one to commit.
type flights struct {
	mu    sync.Mutex
	m     map[string]*flight
	holds map[string]int
}

// hold marks keys (blob digests, chain IDs) as used by one more pull.
func (s *Store) hold(keys []string) {
	s.flights.mu.Lock()
	defer s.flights.mu.Unlock()
	if s.flights.holds == nil {
		s.flights.holds = map[string]int{}
	}
	for _, k := range keys {
		s.flights.holds[k]++
	}
}

func (s *Store) unhold(keys []string) {
	s.flights.mu.Lock()
	defer s.flights.mu.Unlock()
	for _, k := range keys {
		if s.flights.holds[k]--; s.flights.holds[k] <= 0 {
			delete(s.flights.holds, k)
		}
	}
}

// held reports whether a pull under way uses key.
func (s *Store) held(key string) bool {
	s.flights.mu.Lock()
	defer s.flights.mu.Unlock()
	return s.flights.holds[key] > 0
}

// heldByOthers reports whether a pull besides the caller (which holds
// key too) uses key.
func (s *Store) heldByOthers(key string) bool {
	s.flights.mu.Lock()
	defer s.flights.mu.Unlock()
	return s.flights.holds[key] > 1
}

// download makes sure blob l is in the content store: fetched once however
// many pulls ask at the same time. The first asker fetches and reports
// progress; the others wait for it, and fetch it themselves when that one
// gave up because its own client went away.
func (p *pull) download(ctx context.Context, l ocispec.Descriptor, short string) error {
	s := p.s
	key := l.Digest.String()
	s.flights.mu.Lock()
	if s.flights.m == nil {
		s.flights.m = map[string]*flight{}
	}
	if f, ok := s.flights.m[key]; ok {
		s.flights.mu.Unlock()
		p.report(Progress{ID: short, Status: "Waiting"})
		select {
		case <-f.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if f.err != nil {
			if (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
				return p.download(ctx, l, short)
			}
			return f.err
		}
		if _, err := s.content.Info(ctx, l.Digest); err != nil {
			return p.download(ctx, l, short)
		}
		p.report(Progress{ID: short, Status: "Download complete"})
		return nil
	}
	f := &flight{done: make(chan struct{})}
	s.flights.m[key] = f
	s.flights.mu.Unlock()
	// Another pull may have fetched it between our look and now.
	if _, err := s.content.Info(ctx, l.Digest); err == nil {
		s.flights.mu.Lock()
		delete(s.flights.m, key)
		s.flights.mu.Unlock()
		close(f.done)
		p.report(Progress{ID: short, Status: "Download complete"})
		return nil
	}
	f.err = p.fetch(ctx, l, short)
	s.flights.mu.Lock()
	delete(s.flights.m, key)
	s.flights.mu.Unlock()
	close(f.done)
	return f.err
}

func (p *pull) fetch(ctx context.Context, l ocispec.Descriptor, short string) error {
	rc, size, err := p.f.Blob(ctx, l.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	if size >= 0 && l.Size > 0 && size != l.Size {
		return invalidf(fmt.Sprintf("blob %s: the registry sent %d bytes, the manifest says %d", l.Digest, size, l.Size))
	}
	total := l.Size
	pr := &progressReader{r: io.LimitReader(rc, l.Size), every: 512 << 10, fn: func(n int64) {
		p.report(Progress{ID: short, Status: "Downloading", Current: n, Total: total})
	}}
	if l.Size <= 0 {
		pr.r = rc
	}
	if err := p.writeBlob(ctx, pr, l.Digest); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pr.n < l.Size && !errors.Is(err, ErrInvalidParameter) {
			return fmt.Errorf("blob %s: the registry sent %d of %d bytes: %w", l.Digest, pr.n, l.Size, err)
		}
		if pr.n < l.Size {
			return invalidf(fmt.Sprintf("blob %s: the registry sent %d of %d bytes", l.Digest, pr.n, l.Size))
		}
		return err
	}
	p.report(Progress{ID: short, Status: "Verifying Checksum"})
	p.report(Progress{ID: short, Status: "Download complete"})
	return nil
}

// progressReader calls fn with the bytes read so far, every so often.
type progressReader struct {
	r     io.Reader
	n     int64
	last  int64
	every int64
	fn    func(int64)
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.n += int64(n)
	if r.n-r.last >= r.every || (err == io.EOF && r.n != r.last) {
		r.last = r.n
		r.fn(r.n)
	}
	return n, err
}

func shortDigest(d digest.Digest) string {
	e := d.Encoded()
	if len(e) > 12 {
		e = e[:12]
	}
	return e
}

// layers downloads the manifest's layers (parallelDownloads at a time)
// and unpacks each, in order, as soon as it and the ones below it are
// there.
func (p *pull) layers(ctx context.Context, descs []ocispec.Descriptor, diffIDs []digest.Digest) ([]layer, error) {
	s := p.s
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel() // downloads stop when an unpack failed
		wg.Wait()
	}()
	n := len(descs)
	out := make([]layer, n)
	need := make([]bool, n)     // the blob must be fetched
	unpacked := make([]bool, n) // the snapshot exists already
	ready := make([]chan error, n)
	for i, l := range descs {
		short := shortDigest(l.Digest)
		chain := identity.ChainID(diffIDs[:i+1])
		out[i] = layer{DiffID: diffIDs[i], Blob: l.Digest, ChainID: chain}
		_, blobErr := s.content.Info(ctx, l.Digest)
		_, snapErr := s.sn.Stat(ctx, chain.String())
		unpacked[i] = snapErr == nil
		need[i] = blobErr != nil
		ready[i] = make(chan error, 1)
		if !need[i] && unpacked[i] {
			p.report(Progress{ID: short, Status: "Already exists"})
			ready[i] <- nil
			continue
		}
		p.report(Progress{ID: short, Status: "Pulling fs layer"})
		if !need[i] {
			ready[i] <- nil
		}
	}
	// Downloads start in layer order, so the bottom layer, which unpacks
	// first, is never queued behind the ones above it.
	sem := make(chan struct{}, parallelDownloads)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, l := range descs {
			if !need[i] {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ready[i] <- ctx.Err()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := p.download(ctx, l, shortDigest(l.Digest))
				<-sem
				ready[i] <- err
			}()
		}
	}()
	parent := ""
	for i, l := range descs {
		var err error
		select {
		case err = <-ready[i]:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			return nil, err
		}
		short := shortDigest(l.Digest)
		if unpacked[i] {
			out[i].Size = s.layerSize(out[i].ChainID)
			if out[i].Size < 0 {
				out[i].Size = 0
			}
		} else {
			s.mu.Lock() // deletes must not take the parent meanwhile
			size, err := p.unpack(ctx, l, diffIDs[i], out[i].ChainID, parent, short)
			s.mu.Unlock()
			if err != nil {
				return nil, err
			}
			out[i].Size = size
			p.report(Progress{ID: short, Status: "Pull complete"})
		}
		parent = out[i].ChainID.String()
	}
	return out, nil
}

// completeLayers returns the layers of image id when the store has its
// record, every blob (the same ones descs names) and its top snapshot.
func (s *Store) completeLayers(ctx context.Context, id string, descs []ocispec.Descriptor) ([]layer, bool) {
	var rec record
	var ok bool
	_ = s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, ok, err = getRecord(tx, id)
		return err
	})
	if !ok || len(rec.Layers) != len(descs) {
		return nil, false
	}
	for i, l := range rec.Layers {
		if l.Blob != descs[i].Digest {
			return nil, false
		}
		if _, err := s.content.Info(ctx, l.Blob); err != nil {
			return nil, false
		}
	}
	if top := rec.chainID(); top != "" {
		if _, err := s.sn.Stat(ctx, top); err != nil {
			return nil, false
		}
	}
	return rec.Layers, true
}

// layerSize is the uncompressed size a record gives the layer chain, or
// -1.
func (s *Store) layerSize(chain digest.Digest) int64 {
	size := int64(-1)
	_ = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			var r record
			if json.Unmarshal(v, &r) == nil {
				for _, l := range r.Layers {
					if l.ChainID == chain {
						size = l.Size
					}
				}
			}
			return nil
		})
	})
	return size
}

// unpack makes snapshot chain from blob l over parent, checking that the
// uncompressed stream is diffID before committing it, and reports the
// extraction's progress.
func (p *pull) unpack(ctx context.Context, l ocispec.Descriptor, diffID, chain digest.Digest, parent, short string) (int64, error) {
	size, created, err := p.s.applyLayer(ctx, l.Digest, diffID, chain, parent, func(n int64) {
		p.report(Progress{ID: short, Status: "Extracting", Current: n, Total: l.Size})
	})
	if err != nil {
		return 0, err
	}
	if created {
		p.pmu.Lock()
		p.newSnaps = append(p.newSnaps, chain.String())
		p.pmu.Unlock()
	}
	return size, nil
}

package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/registry"
	"github.com/berth-engine/berth/internal/snapshot"
	"github.com/berth-engine/berth/internal/testutil"
)

// testRegistry is go-containerregistry's in-memory registry behind a
// handler a test may tamper with, counting blob fetches.
type testRegistry struct {
	srv    *httptest.Server
	host   string
	mu     sync.Mutex
	gets   map[string]int // blob digest → GETs
	tamper func(w http.ResponseWriter, r *http.Request) bool
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	tr := &testRegistry{gets: map[string]int{}}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
			tr.mu.Lock()
			tr.gets[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]++
			tr.mu.Unlock()
		}
		tr.mu.Lock()
		tamper := tr.tamper
		tr.mu.Unlock()
		if tamper != nil && tamper(w, r) {
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

func (tr *testRegistry) setTamper(f func(w http.ResponseWriter, r *http.Request) bool) {
	tr.mu.Lock()
	tr.tamper = f
	tr.mu.Unlock()
}

// put pushes img as repo:tag and returns the reference.
func (tr *testRegistry) put(t *testing.T, repo string, img v1.Image) reference.NamedTagged {
	t.Helper()
	ref, err := name.ParseReference(tr.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	n, err := reference.ParseNormalizedNamed(tr.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	return n.(reference.NamedTagged)
}

func (tr *testRegistry) repo(t *testing.T, ref reference.Named, push bool, auth registry.Auth) *registry.Repository {
	t.Helper()
	c, err := registry.New(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Repository(context.Background(), ref, auth, push)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func randomImage(t *testing.T, size, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// listing describes a store: its blobs, snapshots and image records.
func listing(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	var out []string
	_ = e.cs.Walk(ctx, func(i content.Info) error {
		out = append(out, "blob "+i.Digest.String())
		return nil
	})
	_ = e.sn.Walk(ctx, func(i snapshot.Info) error {
		out = append(out, "snapshot "+i.Name)
		return nil
	})
	imgs, err := e.store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range imgs {
		out = append(out, fmt.Sprintf("image %s %v %v", i.ID, i.RepoTags, i.RepoDigests))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestPullPushRoundTrip(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	e := openEnv(t, t.TempDir(), Options{})
	tr := newTestRegistry(t)
	img := randomImage(t, 4096, 3)
	ref := tr.put(t, "test/img:1", img)
	var steps []string
	res, err := e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{Progress: func(p Progress) {
		if p.Status != "Downloading" && p.Status != "Extracting" {
			steps = append(steps, p.Status)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	cfgName, _ := img.ConfigName()
	if res.Digest.String() != want.String() || res.ID != cfgName.String() || !res.Updated {
		t.Fatalf("result %+v, want digest %s id %s", res, want, cfgName)
	}
	if got := strings.Join(steps, ","); !strings.HasPrefix(got, "Pulling from test/img,Pulling fs layer,Pulling fs layer,Pulling fs layer") || strings.Count(got, "Pull complete") != 3 {
		t.Fatalf("steps: %s", got)
	}
	insp, err := e.store.Inspect(ctx, ref.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(insp.RepoDigests) != 1 || insp.RepoDigests[0] != tr.host+"/test/img@"+want.String() || len(insp.RootFS.Layers) != 3 || insp.Metadata.LastTagTime.IsZero() {
		t.Fatalf("inspect: %v %v %v", insp.RepoDigests, insp.RootFS.Layers, insp.Metadata.LastTagTime)
	}
	if res, err := e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{}); err != nil || res.Updated {
		t.Fatalf("second pull: %+v %v", res, err)
	}

	// Push it to another registry: same manifest, same digest. (The
	// in-memory registry shares blobs between its repositories.)
	tr2 := newTestRegistry(t)
	n, _ := reference.ParseNormalizedNamed(tr2.host + "/other/img:2")
	to := n.(reference.NamedTagged)
	if err := e.store.Tag(ctx, ref.String(), to.String()); err != nil {
		t.Fatal(err)
	}
	var pushSteps []string
	pres, err := e.store.Push(ctx, to, tr2.repo(t, to, true, registry.Auth{}), PushOptions{Progress: func(p Progress) {
		if p.Status != "Pushing" {
			pushSteps = append(pushSteps, p.Status)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if pres.Digest.String() != want.String() || pres.Tag != "2" {
		t.Fatalf("push: %+v, want %s", pres, want)
	}
	if got := strings.Join(pushSteps, ","); strings.Count(got, "Pushed") != 3 {
		t.Fatalf("push steps: %s", got)
	}
	// The registry has it all now.
	pushSteps = nil
	if _, err := e.store.Push(ctx, to, tr2.repo(t, to, true, registry.Auth{}), PushOptions{Progress: func(p Progress) { pushSteps = append(pushSteps, p.Status) }}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pushSteps, ","); strings.Count(got, "Layer already exists") != 3 {
		t.Fatalf("second push steps: %s", got)
	}
}

// TestPullBadRegistry: a registry that lies or fails leaves the store as
// it was, with an error that says what went wrong.
func TestPullBadRegistry(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	e := openEnv(t, t.TempDir(), Options{})
	tr := newTestRegistry(t)
	base := randomImage(t, 2048, 1)
	seed := tr.put(t, "test/seed:1", base)
	if _, err := e.store.Pull(ctx, seed, tr.repo(t, seed, false, registry.Auth{}), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	// The victim shares the seed's layer and adds two.
	extra1, _ := random.Layer(300000, types.DockerLayer)
	extra2, _ := random.Layer(300000, types.DockerLayer)
	victim, err := mutate.AppendLayers(base, extra1, extra2)
	if err != nil {
		t.Fatal(err)
	}
	ref := tr.put(t, "test/victim:1", victim)
	d2, _ := extra2.Digest()
	before := listing(t, e)

	cases := []struct {
		name   string
		tamper func(w http.ResponseWriter, r *http.Request) bool
		want   string
		class  error
	}{
		{"wrong digest", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, d2.String()) {
				return false
			}
			w.Header().Set("Content-Length", "300")
			w.Write(make([]byte, 300))
			return true
		}, "", ErrInvalidParameter},
		{"truncated blob", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, d2.String()) {
				return false
			}
			sz, _ := extra2.Size()
			w.Header().Set("Content-Length", fmt.Sprint(sz))
			w.Write(make([]byte, sz/2))
			return true // the server closes the connection short
		}, "", nil},
		{"500 on a blob", func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, d2.String()) {
				return false
			}
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}`, http.StatusInternalServerError)
			return true
		}, "disk on fire", errdefs.ErrUnavailable},
		{"50 MB manifest", func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, "/manifests/") {
				return false
			}
			w.Header().Set("Content-Type", registry.MediaTypeDockerManifest)
			w.Header().Set("Content-Length", fmt.Sprint(50<<20))
			for i := 0; i < 50; i++ {
				if _, err := w.Write(make([]byte, 1<<20)); err != nil {
					break
				}
			}
			return true
		}, "over the", errdefs.ErrInvalidParameter},
		{"50 MB manifest, no length", func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, "/manifests/") {
				return false
			}
			w.Header().Set("Content-Type", registry.MediaTypeDockerManifest)
			for i := 0; i < 50; i++ {
				if _, err := w.Write(make([]byte, 1<<20)); err != nil {
					break
				}
			}
			return true
		}, "over the", errdefs.ErrInvalidParameter},
		{"missing tag", func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, "/manifests/") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`))
			return true
		}, "manifest for " + tr.host + "/test/victim:1 not found: manifest unknown: manifest unknown", ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr.setTamper(c.tamper)
			defer tr.setTamper(nil)
			_, err := e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{})
			if err == nil {
				t.Fatal("pull succeeded")
			}
			if c.want != "" && !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
			if c.class != nil && !errors.Is(err, c.class) {
				t.Fatalf("error %q is not %v", err, c.class)
			}
			if after := listing(t, e); after != before {
				t.Fatalf("store changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	// And with the registry healthy again, the pull works.
	if _, err := e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestPullCancel: a pull whose client goes away stops and leaves nothing.
func TestPullCancel(t *testing.T) {
	testutil.RequiresRoot(t)
	e := openEnv(t, t.TempDir(), Options{})
	tr := newTestRegistry(t)
	ref := tr.put(t, "test/slow:1", randomImage(t, 1<<20, 3))
	before := listing(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 8)
	tr.setTamper(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		w.Header().Set("Content-Length", fmt.Sprint(1<<20))
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		started <- struct{}{}
		<-r.Context().Done()
		return true
	})
	go func() { <-started; cancel() }()
	_, err := e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("pull: %v, want canceled", err)
	}
	if after := listing(t, e); after != before {
		t.Fatalf("store changed:\n%s\n---\n%s", before, after)
	}
}

// TestConcurrentPullsShareLayers: two pulls of images sharing layers
// fetch each blob once.
func TestConcurrentPullsShareLayers(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	e := openEnv(t, t.TempDir(), Options{})
	tr := newTestRegistry(t)
	base := randomImage(t, 1<<20, 3)
	var refs []reference.NamedTagged
	for i := range 2 {
		l, _ := random.Layer(1<<16, types.DockerLayer)
		img, err := mutate.AppendLayers(base, l)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, tr.put(t, fmt.Sprintf("test/shared%d:1", i), img))
	}
	tr.mu.Lock()
	tr.gets = map[string]int{}
	tr.mu.Unlock()
	// Slow blobs down a little so the pulls overlap.
	tr.setTamper(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/blobs/") {
			time.Sleep(50 * time.Millisecond)
		}
		return false
	})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	layers, _ := base.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		if n := tr.gets[d.String()]; n != 1 {
			t.Errorf("shared layer %s fetched %d times", d, n)
		}
	}
	for _, ref := range refs {
		if _, err := e.store.Inspect(ctx, ref.String()); err != nil {
			t.Error(err)
		}
	}
}

// TestPullPlatform picks a manifest from an index.
func TestPullPlatform(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	e := openEnv(t, t.TempDir(), Options{})
	tr := newTestRegistry(t)
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		img := randomImage(t, 1024, 1)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		img, err := mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	r, _ := name.ParseReference(tr.host + "/test/multi:1")
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	n, _ := reference.ParseNormalizedNamed(tr.host + "/test/multi:1")
	ref := n.(reference.NamedTagged)
	idxDigest, _ := idx.Digest()
	for _, arch := range []string{"arm64", "amd64"} {
		res, err := e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{Platform: ocispec.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		insp, err := e.store.Inspect(ctx, res.ID)
		if err != nil || insp.Architecture != arch || res.Digest.String() != idxDigest.String() {
			t.Fatalf("%s: got %s, digest %s (index %s), %v", arch, insp.Architecture, res.Digest, idxDigest, err)
		}
	}
	_, err := e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "s390x"}})
	if err == nil || !strings.Contains(err.Error(), "no matching manifest for linux/s390x") {
		t.Fatalf("pull for s390x: %v", err)
	}

	// A single-platform image for another architecture: pulled when no
	// platform is asked for, refused when another one is.
	img := randomImage(t, 1024, 1)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "riscv64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	one := tr.put(t, "test/riscv:1", img)
	_, err = e.store.Pull(ctx, one, tr.repo(t, one, false, registry.Auth{}), PullOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}})
	if err == nil || !strings.Contains(err.Error(), "does not match the specified platform: wanted linux/amd64, actual: linux/riscv64") {
		t.Fatalf("pull of riscv64 for amd64: %v", err)
	}
	if _, err := e.store.Pull(ctx, one, tr.repo(t, one, false, registry.Auth{}), PullOptions{}); err != nil {
		t.Fatalf("pull of riscv64 with no platform asked: %v", err)
	}
}

func TestParsePlatform(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{"", "linux/" + DefaultPlatform().Architecture, false},
		{"linux/arm64", "linux/arm64", false},
		{"linux/arm/v7", "linux/arm/v7", false},
		{"linux/x86_64", "linux/amd64", false},
		{"windows/amd64", "", true},
		{"/amd64", "", true},
		{"a/b/c/d", "", true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			p, err := ParsePlatform(c.in)
			if (err != nil) != c.bad {
				t.Fatalf("err %v, want bad=%v", err, c.bad)
			}
			if !c.bad && platformString(p) != c.want {
				t.Fatalf("got %s, want %s", platformString(p), c.want)
			}
		})
	}
}

// TestPullZstdAndUncompressed pulls an OCI image whose layers are zstd and
// plain tar, pushed with berth's own client.
func TestPullZstdAndUncompressed(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	e := openEnv(t, t.TempDir(), Options{})
	tr := newTestRegistry(t)
	n, _ := reference.ParseNormalizedNamed(tr.host + "/test/zstd:1")
	ref := n.(reference.NamedTagged)
	repo := tr.repo(t, ref, true, registry.Auth{})

	layerTar := func(name, body string) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
		tw.Close()
		return b.Bytes()
	}
	plain := layerTar("a.txt", "plain layer")
	zsrc := layerTar("b.txt", "zstd layer")
	var zb bytes.Buffer
	zw, _ := zstd.NewWriter(&zb)
	zw.Write(zsrc)
	zw.Close()
	blobs := []struct {
		data   []byte
		diffID digest.Digest
		mt     string
	}{
		{zb.Bytes(), digest.FromBytes(zsrc), ocispec.MediaTypeImageLayerZstd},
		{plain, digest.FromBytes(plain), ocispec.MediaTypeImageLayer},
	}
	img := ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: DefaultPlatform().Architecture}, RootFS: ocispec.RootFS{Type: "layers"}}
	man := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest}
	man.SchemaVersion = 2
	for _, b := range blobs {
		d := digest.FromBytes(b.data)
		if err := repo.PutBlob(ctx, d, int64(len(b.data)), bytes.NewReader(b.data)); err != nil {
			t.Fatal(err)
		}
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, b.diffID)
		man.Layers = append(man.Layers, ocispec.Descriptor{MediaType: b.mt, Digest: d, Size: int64(len(b.data))})
	}
	cfg, _ := json.Marshal(img)
	if err := repo.PutBlob(ctx, digest.FromBytes(cfg), int64(len(cfg)), bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	man.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	data, _ := json.Marshal(man)
	if _, err := repo.PutManifest(ctx, "1", ocispec.MediaTypeImageManifest, data); err != nil {
		t.Fatal(err)
	}
	res, err := e.store.Pull(ctx, ref, tr.repo(t, ref, false, registry.Auth{}), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	insp, err := e.store.Inspect(ctx, res.ID)
	if err != nil || len(insp.RootFS.Layers) != 2 || insp.RootFS.Layers[0] != blobs[0].diffID.String() {
		t.Fatalf("inspect: %+v %v", insp.RootFS, err)
	}
	// And it goes back out with the same manifest.
	tr2 := newTestRegistry(t)
	n2, _ := reference.ParseNormalizedNamed(tr2.host + "/copy/zstd:1")
	to := n2.(reference.NamedTagged)
	if err := e.store.Tag(ctx, ref.String(), to.String()); err != nil {
		t.Fatal(err)
	}
	pres, err := e.store.Push(ctx, to, tr2.repo(t, to, true, registry.Auth{}), PushOptions{})
	if err != nil || pres.Digest != digest.FromBytes(data) {
		t.Fatalf("push: %+v %v, want %s", pres, err, digest.FromBytes(data))
	}
}

package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-engine/berth/internal/testutil"
)

// tarFiles reads a tar's regular files by name.
func tarFiles(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[hdr.Name] = b
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	data := busyboxTar(t)
	ctx := context.Background()
	src := openEnv(t, t.TempDir(), Options{})
	id, err := src.store.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: "busybox:1", Changes: []string{`CMD ["sh"]`}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.store.Save(ctx, &buf, []string{"busybox:1"}); err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, buf.Bytes())
	var entries []saveEntry
	if err := json.Unmarshal(files["manifest.json"], &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Config != "blobs/sha256/"+strings.TrimPrefix(id, "sha256:") ||
		len(entries[0].Layers) != 1 || strings.Join(entries[0].RepoTags, ",") != "busybox:1" {
		t.Fatalf("manifest.json %s", files["manifest.json"])
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json %s: %v", files["index.json"], err)
	}
	if idx.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/library/busybox:1" {
		t.Errorf("index annotations %v", idx.Manifests[0].Annotations)
	}
	for name, b := range files {
		if strings.HasPrefix(name, "blobs/sha256/") && digest.FromBytes(b).Encoded() != strings.TrimPrefix(name, "blobs/sha256/") {
			t.Errorf("blob %s has the wrong digest", name)
		}
	}
	if _, ok := files["oci-layout"]; !ok {
		t.Error("no oci-layout")
	}

	// docker save's manifest.json, then the OCI index alone.
	dst := openEnv(t, t.TempDir(), Options{})
	got, err := dst.store.Load(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != id || strings.Join(got[0].Tags, ",") != "busybox:1" {
		t.Fatalf("loaded %+v, want %s busybox:1", got, id)
	}
	if key, err := dst.store.RootFS(ctx, "busybox:1"); err != nil || key == "" {
		t.Fatalf("rootfs %q %v", key, err)
	}
	// A tag that named another image moves, and the load says so.
	other, err := dst.store.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: "busybox:1", Changes: []string{`CMD ["ls"]`}})
	if err != nil {
		t.Fatal(err)
	}
	got, err = dst.store.Load(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil || len(got) != 1 || got[0].Moved["busybox:1"] != other {
		t.Fatalf("load over a tag: %+v %v", got, err)
	}
	oci := rewriteTar(t, buf.Bytes(), func(name string) bool { return name != "manifest.json" })
	dst2 := openEnv(t, t.TempDir(), Options{})
	got, err = dst2.store.Load(ctx, bytes.NewReader(oci))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != id || strings.Join(got[0].Tags, ",") != "busybox:1" {
		t.Fatalf("loaded from the OCI index %+v", got)
	}

	if err := src.store.Save(ctx, io.Discard, []string{"busybox:1", "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("save of a missing image: %v", err)
	}
}

// rewriteTar copies a tar keeping the entries keep accepts.
func rewriteTar(t *testing.T, data []byte, keep func(string) bool) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !keep(hdr.Name) {
			continue
		}
		tw.WriteHeader(hdr)
		io.Copy(tw, tr)
	}
	tw.Close()
	return out.Bytes()
}

func TestLoadInvalid(t *testing.T) {
	data := busyboxTar(t)
	ctx := context.Background()
	src := openEnv(t, t.TempDir(), Options{})
	if _, err := src.store.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: "busybox"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.store.Save(ctx, &buf, []string{"busybox"}); err != nil {
		t.Fatal(err)
	}
	// A layer whose bytes changed no longer matches its diff ID.
	var entries []saveEntry
	_ = json.Unmarshal(tarFiles(t, buf.Bytes())["manifest.json"], &entries)
	layerName := entries[0].Layers[0]
	var tampered bytes.Buffer
	tw := tar.NewWriter(&tampered)
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		if hdr.Name == layerName {
			b = append(b, make([]byte, 1024)...)
			hdr.Size = int64(len(b))
		}
		tw.WriteHeader(hdr)
		tw.Write(b)
	}
	tw.Close()

	cases := []struct {
		name string
		data []byte
	}{
		{"not a tar", bytes.Repeat([]byte("garbage!"), 200)},
		{"no index", rewriteTar(t, buf.Bytes(), func(n string) bool { return n != "manifest.json" && n != "index.json" })},
		{"missing layer", rewriteTar(t, buf.Bytes(), func(n string) bool { return n != layerName })},
		{"tampered layer", tampered.Bytes()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := openEnv(t, t.TempDir(), Options{})
			if _, err := dst.store.Load(ctx, bytes.NewReader(c.data)); !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("got %v", err)
			}
			if l, _ := dst.store.List(ctx); len(l) != 0 {
				t.Errorf("images after a failed load: %v", l)
			}
		})
	}
}

// twoLayerArchive is a docker-save tar of one image with two uncompressed
// layers; the second is second, and its diff ID in the config is secondID
// (the true one when empty).
func twoLayerArchive(t *testing.T, second []byte, secondID digest.Digest) []byte {
	t.Helper()
	first := tarOf(t, map[string]string{"one": "first layer"})
	if secondID == "" {
		secondID = digest.FromBytes(second)
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []digest.Digest{digest.FromBytes(first), secondID}},
	})
	manifest, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"two:1"}, "Layers": []string{"l1/layer.tar", "l2/layer.tar"}}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"config.json", cfg}, {"l1/layer.tar", first}, {"l2/layer.tar", second}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	return buf.Bytes()
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

// TestLoadFailureLeavesNothing: a load that fails at its second layer
// removes the first layer's blob and snapshot again; the store's listing is
// exactly what it was, and a good archive then loads.
func TestLoadFailureLeavesNothing(t *testing.T) {
	testutil.RequiresRoot(t) // overlay snapshots
	ctx := context.Background()
	hostile := tarOf(t, map[string]string{"../escape": "x"})
	second := tarOf(t, map[string]string{"two": "second layer"})
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"second layer does not match its diff ID", twoLayerArchive(t, second, digest.FromString("something else"))},
		{"second layer escapes its root", twoLayerArchive(t, hostile, "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := openEnv(t, t.TempDir(), Options{})
			before := listing(t, e)
			if _, err := e.store.Load(ctx, bytes.NewReader(c.data)); !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("load: %v", err)
			}
			if after := listing(t, e); after != before {
				t.Errorf("the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if _, err := e.store.Load(ctx, bytes.NewReader(twoLayerArchive(t, second, ""))); err != nil {
				t.Fatalf("a good load after the failed one: %v", err)
			}
		})
	}
}

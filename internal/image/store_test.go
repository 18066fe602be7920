package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	goarchive "github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	"github.com/moby/moby/api/types/image"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
	"github.com/berth-engine/berth/internal/snapshot/overlay"
	"github.com/berth-engine/berth/internal/testutil"
)

type env struct {
	root  string
	store *Store
	cs    *content.Local
	sn    *overlay.Snapshotter
}

func openEnv(t *testing.T, root string, opts Options) *env {
	t.Helper()
	ctx := context.Background()
	cs, err := content.NewLocal(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	sn, err := overlay.New(ctx, filepath.Join(root, "overlay"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := New(ctx, filepath.Join(root, "image"), cs, sn, opts)
	if err != nil {
		sn.Close()
		t.Fatal(err)
	}
	e := &env{root: root, store: st, cs: cs, sn: sn}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.store.Close()
	e.sn.Close()
}

var (
	busyboxOnce sync.Once
	busyboxData []byte
)

// busyboxTar is a tar of a busybox root filesystem, made once per run.
func busyboxTar(t *testing.T) []byte {
	t.Helper()
	testutil.RequiresRoot(t)
	if _, err := os.Stat(testutil.BusyboxPath); err != nil {
		t.Skip("busybox-static not installed")
	}
	busyboxOnce.Do(func() {
		dir, err := os.MkdirTemp("", "berth-busybox-")
		if err != nil {
			return
		}
		defer os.RemoveAll(dir)
		if err := testutil.MakeBusyboxRootfs(testutil.BusyboxPath, dir); err != nil {
			return
		}
		rc, err := goarchive.Tar(dir, compression.Gzip)
		if err != nil {
			return
		}
		defer rc.Close()
		busyboxData, _ = io.ReadAll(rc)
	})
	if len(busyboxData) == 0 {
		t.Fatal("could not build the busybox tar")
	}
	return busyboxData
}

func TestImportInspectListHistory(t *testing.T) {
	data := busyboxTar(t)
	ctx := context.Background()
	e := openEnv(t, t.TempDir(), Options{})
	id, err := e.store.Import(ctx, bytes.NewReader(data), ImportOptions{
		Ref:     "busybox",
		Changes: []string{`CMD ["sh"]`, "ENV GREETING=hello", "LABEL maker=berth", "WORKDIR /root", "EXPOSE 8080"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
		t.Fatalf("id %q", id)
	}

	insp, err := e.store.Inspect(ctx, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	if insp.ID != id || len(insp.RepoTags) != 1 || insp.RepoTags[0] != "busybox:latest" {
		t.Errorf("id/tags: %s %v", insp.ID, insp.RepoTags)
	}
	c := insp.Config
	if strings.Join(c.Cmd, " ") != "sh" || c.Env[0] != "GREETING=hello" || c.Labels["maker"] != "berth" || c.WorkingDir != "/root" {
		t.Errorf("config %+v", c)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed %v", c.ExposedPorts)
	}
	if insp.Os != "linux" || insp.Architecture == "" || insp.Size < 1<<20 || insp.Comment != "Imported from -" {
		t.Errorf("os %q arch %q size %d comment %q", insp.Os, insp.Architecture, insp.Size, insp.Comment)
	}
	if insp.RootFS.Type != "layers" || len(insp.RootFS.Layers) != 1 {
		t.Errorf("rootfs %+v", insp.RootFS)
	}
	if insp.GraphDriver == nil || insp.GraphDriver.Name != "overlay2" {
		t.Fatalf("graph driver %+v", insp.GraphDriver)
	}
	if _, err := os.Stat(filepath.Join(insp.GraphDriver.Data["UpperDir"], "bin/busybox")); err != nil {
		t.Errorf("layer not unpacked: %v", err)
	}
	if insp.Metadata.LastTagTime.IsZero() {
		t.Error("no LastTagTime")
	}

	// The same image by every name docker accepts.
	for _, name := range []string{id, strings.TrimPrefix(id, "sha256:"), id[7:19], "busybox:latest", "docker.io/library/busybox:latest"} {
		got, err := e.store.Resolve(ctx, name)
		if err != nil || got != id {
			t.Errorf("resolve %q: %s %v", name, got, err)
		}
	}

	list, err := e.store.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
	s := list[0]
	if s.ID != id || s.Containers != -1 || s.Size != insp.Size || s.Labels["maker"] != "berth" || s.RepoDigests == nil {
		t.Errorf("summary %+v", s)
	}

	hist, err := e.store.History(ctx, id)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history %v %v", hist, err)
	}
	if hist[0].ID != id || hist[0].Size != insp.Size || hist[0].Comment != "Imported from -" || len(hist[0].Tags) != 1 {
		t.Errorf("history %+v", hist[0])
	}

	// A container's rootfs: a writable layer over the image's snapshot.
	key, err := e.store.RootFS(ctx, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := e.sn.Prepare(ctx, "ctr", key)
	if err != nil {
		t.Fatal(err)
	}
	err = mount.WithTempMount(ctx, ms, func(root string) error {
		if _, err := os.Stat(filepath.Join(root, "bin/sh")); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(root, "etc/written"), []byte("x"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sn.Remove(ctx, "ctr"); err != nil {
		t.Fatal(err)
	}

	// A second import of the same tar shares the layer.
	if _, err := e.store.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: "other:1"}); err != nil {
		t.Fatal(err)
	}
	committed := 0
	_ = e.sn.Walk(ctx, func(i snapshot.Info) error {
		if i.Kind == snapshot.KindCommitted {
			committed++
		}
		return nil
	})
	if committed != 1 {
		t.Errorf("%d committed snapshots, want 1 shared", committed)
	}
	idx := readIndex(t, e)
	var names []string
	for _, m := range idx.Manifests {
		names = append(names, m.Annotations[ocispec.AnnotationRefName])
		if _, err := e.cs.Info(ctx, m.Digest); err != nil {
			t.Errorf("index names a missing manifest: %v", err)
		}
	}
	if strings.Join(names, ",") != "docker.io/library/busybox:latest,docker.io/library/other:1" && strings.Join(names, ",") != "docker.io/library/other:1,docker.io/library/busybox:latest" {
		t.Errorf("index.json names %v", names)
	}
}

func readIndex(t *testing.T, e *env) ocispec.Index {
	t.Helper()
	var idx ocispec.Index
	data, err := os.ReadFile(filepath.Join(e.cs.Root(), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

func items(rs []image.DeleteResponse) string {
	var out []string
	for _, r := range rs {
		if r.Untagged != "" {
			out = append(out, "untagged "+r.Untagged)
		} else if len(r.Deleted) > 19 {
			out = append(out, "deleted "+r.Deleted[:19])
		}
	}
	return strings.Join(out, ", ")
}

func TestTagAndDelete(t *testing.T) {
	data := busyboxTar(t)
	ctx := context.Background()
	var running, stopped []string
	e := openEnv(t, t.TempDir(), Options{Containers: func(string) ([]string, []string) { return running, stopped }})
	id, err := e.store.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: "busybox"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"me/app:1", "localhost:5000/bb"} {
		if err := e.store.Tag(ctx, "busybox", tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.Tag(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) || err.Error() != "No such image: nope:latest" {
		t.Errorf("tag missing: %v", err)
	}
	if err := e.store.Tag(ctx, "busybox", "Bad Name"); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("tag bad: %v", err)
	}
	insp, _ := e.store.Inspect(ctx, id)
	if got := strings.Join(insp.RepoTags, ","); got != "busybox:latest,localhost:5000/bb:latest,me/app:1" {
		t.Errorf("tags %s", got)
	}

	short := id[7:19]
	_, err = e.store.Delete(ctx, id, DeleteOptions{})
	if want := "conflict: unable to delete " + short + " (must be forced) - image is referenced in multiple repositories"; !errors.Is(err, ErrConflict) || err.Error() != want {
		t.Errorf("delete by id: %v", err)
	}
	rs, err := e.store.Delete(ctx, "me/app:1", DeleteOptions{})
	if err != nil || items(rs) != "untagged me/app:1" {
		t.Errorf("untag: %s %v", items(rs), err)
	}
	rs, err = e.store.Delete(ctx, "localhost:5000/bb", DeleteOptions{})
	if err != nil || items(rs) != "untagged localhost:5000/bb:latest" {
		t.Errorf("untag: %s %v", items(rs), err)
	}

	running = []string{"0123456789abcdef"}
	_, err = e.store.Delete(ctx, "busybox", DeleteOptions{})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `unable to remove repository reference "busybox" (must force) - container 0123456789ab is using its referenced image `+short) {
		t.Errorf("delete used: %v", err)
	}
	_, err = e.store.Delete(ctx, id, DeleteOptions{Force: true})
	if want := "conflict: unable to delete " + short + " (cannot be forced) - image is being used by running container 0123456789ab"; err == nil || err.Error() != want {
		t.Errorf("delete running: %v", err)
	}
	running, stopped = nil, []string{"fedcba9876543210"}
	_, err = e.store.Delete(ctx, id, DeleteOptions{})
	if want := "conflict: unable to delete " + short + " (must be forced) - image is being used by stopped container fedcba987654"; err == nil || err.Error() != want {
		t.Errorf("delete stopped: %v", err)
	}
	stopped = nil

	key, _ := e.store.RootFS(ctx, id)
	rs, err = e.store.Delete(ctx, "busybox", DeleteOptions{})
	if err != nil || items(rs) != "untagged busybox:latest, deleted "+id[:19]+", deleted "+key[:19] {
		t.Errorf("delete: %s %v", items(rs), err)
	}
	if _, err := e.store.Inspect(ctx, "busybox"); !errors.Is(err, ErrNotFound) || err.Error() != "No such image: busybox:latest" {
		t.Errorf("inspect deleted: %v", err)
	}
	if _, err := e.sn.Stat(ctx, key); !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("snapshot kept: %v", err)
	}
	n := 0
	_ = e.cs.Walk(ctx, func(content.Info) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d blobs left", n)
	}
	if idx := readIndex(t, e); len(idx.Manifests) != 0 {
		t.Errorf("index.json after delete: %+v", idx.Manifests)
	}
}

func hostileTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "../../escape", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	return buf.Bytes()
}

func TestImportInvalid(t *testing.T) {
	data := busyboxTar(t)
	ctx := context.Background()
	e := openEnv(t, t.TempDir(), Options{})
	cases := []struct {
		name string
		data []byte
		opts ImportOptions
	}{
		{"bad change", data, ImportOptions{Changes: []string{"RUN true"}}},
		{"bad ref", data, ImportOptions{Ref: "Not/Valid"}},
		{"digest ref", data, ImportOptions{Ref: "busybox@sha256:" + strings.Repeat("0", 64)}},
		{"hostile tar", hostileTar(t), ImportOptions{Ref: "evil"}},
		{"not a tar", bytes.Repeat([]byte("garbage!"), 200), ImportOptions{}},
		{"broken gzip", append([]byte{0x1f, 0x8b, 0x08, 0}, bytes.Repeat([]byte{7}, 100)...), ImportOptions{}},
		{"truncated gzip", data[:len(data)/2], ImportOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.store.Import(ctx, bytes.NewReader(c.data), c.opts)
			if !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("got %v", err)
			}
		})
	}
	if l, _ := e.store.List(ctx); len(l) != 0 {
		t.Errorf("images after failed imports: %v", l)
	}
	n := 0
	_ = e.cs.Walk(ctx, func(content.Info) error { n++; return nil })
	_ = e.sn.Walk(ctx, func(snapshot.Info) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d blobs/snapshots left after failed imports", n)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.root), "escape")); err == nil {
		t.Error("hostile tar escaped")
	}
}

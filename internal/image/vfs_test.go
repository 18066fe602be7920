package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot/vfs"
)

// TestImportOnVFS runs the store over the second snapshotter.
func TestImportOnVFS(t *testing.T) {
	data := busyboxTar(t)
	ctx := context.Background()
	root := t.TempDir()
	cs, err := content.NewLocal(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	sn, err := vfs.New(ctx, filepath.Join(root, "vfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	st, err := New(ctx, filepath.Join(root, "image"), cs, sn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: "bb:vfs"})
	if err != nil {
		t.Fatal(err)
	}
	insp, err := st.Inspect(ctx, "bb:vfs")
	if err != nil || insp.GraphDriver == nil || insp.GraphDriver.Name != "vfs" {
		t.Fatalf("inspect: %+v %v", insp.GraphDriver, err)
	}
	key, err := st.RootFS(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := sn.Prepare(ctx, "ctr", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := mount.WithTempMount(ctx, ms, func(r string) error {
		_, err := os.Stat(filepath.Join(r, "bin/sh"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := sn.Remove(ctx, "ctr"); err != nil {
		t.Fatal(err)
	}
	rs, err := st.Delete(ctx, "bb:vfs", DeleteOptions{})
	if err != nil || len(rs) != 3 {
		t.Fatalf("delete: %v %v", rs, err)
	}
}

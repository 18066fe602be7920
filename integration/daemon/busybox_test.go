package daemon

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/berth-engine/berth/internal/content"
	"github.com/berth-engine/berth/internal/image"
	"github.com/berth-engine/berth/internal/snapshot/overlay"
	"github.com/berth-engine/berth/internal/testutil"
)

// seedBusybox imports a busybox image (tagged busybox:latest, CMD sh) into
// d's data root through internal/image, opening the stores where the daemon
// opens them, so container tests do not depend on the image API. Call it
// before d.start: the stores are locked while berthd runs.
func seedBusybox(t *testing.T, d *daemon) {
	t.Helper()
	rootfs := t.TempDir()
	testutil.BusyboxRootfs(t, rootfs)
	var tarball bytes.Buffer
	cmd := exec.Command("tar", "-C", rootfs, "--numeric-owner", "-cf", "-", ".")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &tarball, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tar busybox rootfs: %v\n%s", err, stderr.Bytes())
	}
	ctx := context.Background()
	root := d.DataRoot
	if err := os.MkdirAll(root, 0o711); err != nil {
		t.Fatal(err)
	}
	cs, err := content.NewLocal(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	sn, err := overlay.New(ctx, filepath.Join(root, "overlay2"))
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	is, err := image.New(ctx, filepath.Join(root, "image"), cs, sn, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	if _, err := is.Import(ctx, &tarball, image.ImportOptions{Ref: "busybox:latest", Changes: []string{`CMD ["sh"]`}}); err != nil {
		t.Fatalf("import busybox: %v", err)
	}
}

// buildShim puts berth-shim (the C monitor, compiled by testutil) and the
// OCI runtime binary it drives (testutil.RuntimeBinary: $BERTH_RUNTIME or
// bin/berth-runtime) beside the berthd under test, where berthd looks for
// them first.
func buildShim(t *testing.T, d *daemon) {
	t.Helper()
	dir := filepath.Dir(d.bin)
	shim, rt := testutil.ShimBinary(t), testutil.RuntimeBinary(t)
	if abs, err := exec.LookPath(rt); err == nil {
		rt = abs // a bare name from $BERTH_RUNTIME: the symlink needs a path
	}
	shimOnce.Do(func() {
		for name, src := range map[string]string{"berth-shim": shim, "berth-runtime": rt} {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				continue
			}
			if err := os.Symlink(src, p); err != nil {
				shimErr = err
			}
		}
	})
	if shimErr != nil {
		t.Fatalf("berth-shim and berth-runtime beside berthd: %v", shimErr)
	}
}

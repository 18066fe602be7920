package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/mount"
	"github.com/berth-engine/berth/internal/snapshot"
)

const crashEnv = "BERTH_IMAGE_CRASH_CHILD"

// TestCrashChild is the process TestKillDuringImport kills: it imports,
// tags and deletes until it dies.
func TestCrashChild(t *testing.T) {
	root := os.Getenv(crashEnv)
	if root == "" {
		t.Skip("helper process for TestKillDuringImport")
	}
	data, err := os.ReadFile(filepath.Join(root, "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := openEnv(t, filepath.Join(root, "store"), Options{})
	for i := 0; ; i++ {
		ref := fmt.Sprintf("crash:%d", i%4)
		if _, err := e.store.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: ref, Changes: []string{fmt.Sprintf("ENV N=%d", i)}}); err != nil {
			t.Fatal(err)
		}
		// Progress for the parent, which kills only after some.
		_ = os.WriteFile(filepath.Join(root, "progress"), []byte(fmt.Sprint(i+1)), 0o600)
		if i%3 == 2 {
			if _, err := e.store.Delete(ctx, fmt.Sprintf("crash:%d", (i+1)%4), DeleteOptions{Force: true}); err != nil && !strings.Contains(err.Error(), "No such image") {
				t.Fatal(err)
			}
		}
	}
}

// TestKillDuringImport kills -9 a process in the middle of imports and
// deletes, then checks the store opens, is consistent and still works.
func TestKillDuringImport(t *testing.T) {
	data := busyboxTar(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "busybox.tar"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(root, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Kill at different points: after the child's next completed import,
	// plus a delay that lands inside the following import or delete.
	for round, wait := range []time.Duration{0, 15 * time.Millisecond, 40 * time.Millisecond, 70 * time.Millisecond} {
		_ = os.Remove(filepath.Join(root, "progress"))
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+root, "TMPDIR="+tmp)
		// The child's mounts live and die in its own mount namespace.
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if b, err := os.ReadFile(filepath.Join(root, "progress")); err == nil && len(b) > 0 {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child made no progress:\n%s", out.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(wait)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if strings.Contains(out.String(), "FAIL") {
			t.Fatalf("child failed before the kill:\n%s", out.String())
		}

		e := openEnv(t, filepath.Join(root, "store"), Options{})
		list, err := e.store.List(ctx)
		if err != nil {
			t.Fatalf("round %d: list after kill: %v", round, err)
		}
		if len(list) == 0 {
			t.Errorf("round %d: no images after the child's first import", round)
		}
		for _, img := range list {
			key, err := e.store.RootFS(ctx, img.ID)
			if err != nil {
				t.Fatal(err)
			}
			if info, err := e.sn.Stat(ctx, key); err != nil || info.Kind != snapshot.KindCommitted {
				t.Fatalf("image %s: layer %s: %+v %v", img.ID, key, info, err)
			}
			if _, err := e.store.Inspect(ctx, img.ID); err != nil {
				t.Fatalf("inspect %s: %v", img.ID, err)
			}
		}
		_ = e.sn.Walk(ctx, func(i snapshot.Info) error {
			if i.Kind != snapshot.KindCommitted {
				t.Errorf("leftover snapshot %+v", i)
			}
			return nil
		})
		id, err := e.store.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: "after"})
		if err != nil {
			t.Fatalf("import after kill: %v", err)
		}
		key, _ := e.store.RootFS(ctx, id)
		ms, err := e.sn.View(ctx, "check", key)
		if err != nil {
			t.Fatal(err)
		}
		if err := mount.WithTempMount(ctx, ms, func(r string) error {
			_, err := os.Stat(filepath.Join(r, "bin/busybox"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.sn.Remove(ctx, "check"); err != nil {
			t.Fatal(err)
		}
		e.close()
	}
}

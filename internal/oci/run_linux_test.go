package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/testutil"
)

// runtimeBinary is $BERTH_RUNTIME, or berth-runtime built from this module.
func runtimeBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BERTH_RUNTIME"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "berth-runtime")
	cmd := exec.Command("go", "build", "-o", out, "github.com/berth-engine/berth/cmd/berth-runtime")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building berth-runtime: %v\n%s", err, b)
	}
	return out
}

// TestSpecRuns proves produced specs start under berth-runtime on a
// busybox rootfs, for the default and the privileged configuration (the
// latter on a host whose bounding set may lack capabilities).
func TestSpecRuns(t *testing.T) {
	testutil.RequiresRoot(t)
	rt := runtimeBinary(t)
	host, err := DetectHost()
	if err != nil {
		t.Fatal(err)
	}
	nofile := uint64(DefaultNofile)
	if h := host.HardLimits["nofile"]; h < nofile {
		nofile = h
	}
	cases := []struct {
		name string
		edit func(*ctypes.Config, *ctypes.HostConfig)
		want string
	}{
		{"default", nil, "hi"},
		{"privileged", func(_ *ctypes.Config, hc *ctypes.HostConfig) { hc.Privileged = true }, "hi"},
		{"host and joined namespaces", func(_ *ctypes.Config, hc *ctypes.HostConfig) {
			hc.NetworkMode, hc.UTSMode = "host", "host"
			hc.PidMode, hc.IpcMode = "container:self", "container:self"
		}, "hi"},
		{"limits and user", func(c *ctypes.Config, hc *ctypes.HostConfig) {
			c.User = "nobody"
			c.Cmd = []string{"sh", "-c", "echo $(id -u) $(ulimit -n)"}
			hc.Memory, hc.PidsLimit = 64<<20, func() *int64 { v := int64(50); return &v }()
			hc.ReadonlyRootfs = true
			hc.Tmpfs = map[string]string{"/run": ""}
			hc.CapDrop = []string{"ALL"}
			hc.SecurityOpt = []string{"no-new-privileges"}
		}, fmt.Sprintf("65534 %d", nofile)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bundle := t.TempDir()
			for _, d := range []string{bundle, filepath.Dir(bundle)} {
				os.Chmod(d, 0o755)
			}
			rootfs := filepath.Join(bundle, "rootfs")
			testutil.BusyboxRootfs(t, rootfs)
			cfg := &ctypes.Config{Cmd: []string{"echo", "hi"}}
			hc := &ctypes.HostConfig{NetworkMode: "none"}
			if tc.edit != nil {
				tc.edit(cfg, hc)
			}
			c := container.New(container.NewID(), "/spec-run", cfg, hc, time.Now())
			s, err := Spec(context.Background(), c, SpecOpts{
				RootfsPath: rootfs, Host: host,
				// "container:self" joins this test process's namespaces by path.
				ResolveContainer: func(string) (int, error) { return os.Getpid(), nil },
				ResolveShm:       func(string) (string, error) { return "/dev/shm", nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			state := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id := "oci-test-" + c.ID[:12]
			t.Cleanup(func() {
				exec.Command(rt, "--root", state, "delete", "--force", id).Run()
			})
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, rt, "--root", state, "run", "--bundle", bundle, id)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("berth-runtime run: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got != tc.want {
				t.Fatalf("output %q, want %q (stderr %s)", got, tc.want, stderr.String())
			}
		})
	}
}

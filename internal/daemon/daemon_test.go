package daemon

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"

	"github.com/berth-engine/berth/internal/daemon/config"
)

func testConfig(t *testing.T) *config.Config {
	dir := t.TempDir()
	// A default bridge of the test's own, and no firewall rules: run as
	// root, New sets networking up on the host.
	var r [3]byte
	rand.Read(r[:])
	off := false
	cfg, err := config.Load(filepath.Join(dir, "none.json"), &config.Config{
		DataRoot: filepath.Join(dir, "data"),
		ExecRoot: filepath.Join(dir, "exec"),
		Runtimes: map[string]system.Runtime{config.DefaultRuntime: {Path: "/bin/true"}},
		Bridge:   fmt.Sprintf("bu%x", r[:]),
		Bip:      fmt.Sprintf("10.%d.%d.1/24", 100+int(r[0])%150, r[1]),
		IPTables: &off,
	}, []string{"data-root", "exec-root", "bridge", "bip", "iptables"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestNewLocksRoot(t *testing.T) {
	cfg := testConfig(t)
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for path, mode := range map[string]os.FileMode{cfg.DataRoot: 0o711, cfg.ExecRoot: 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", path, err, st.Mode().Perm(), mode)
		}
	}
	_, err = New(context.Background(), cfg)
	if want := fmt.Sprintf("in use by another berthd (pid %d)", os.Getpid()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second New: %v, want %q", err, want)
	}
	id := d.id
	d.Close()
	d2, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	defer d2.Close()
	if d2.id != id {
		t.Fatalf("engine id changed across restarts: %s, %s", id, d2.id)
	}
}

func TestSystemInfo(t *testing.T) {
	cfg := testConfig(t)
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info, err := d.SystemInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID == "" || info.Driver != "overlay2" || info.CgroupDriver != "cgroupfs" || info.DockerRootDir != cfg.DataRoot ||
		info.NCPU < 1 || info.MemTotal <= 0 || info.KernelVersion == "" || info.OSType != "linux" ||
		info.DefaultRuntime != "berth-runtime" || info.Runtimes["berth-runtime"].Path != "/bin/true" ||
		(info.CgroupVersion != "1" && info.CgroupVersion != "2") {
		t.Fatalf("info: %+v", info)
	}
	v, err := d.SystemVersion(context.Background())
	if err != nil || v.Components[0].Name != "Engine" || v.GoVersion == "" {
		t.Fatalf("version: %+v, %v", v, err)
	}
}

func TestNewErrors(t *testing.T) {
	cfg := testConfig(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg.DataRoot), "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := *cfg
	bad.DataRoot = filepath.Join(filepath.Dir(cfg.DataRoot), "file", "data")
	if _, err := New(context.Background(), &bad); err == nil || !strings.Contains(err.Error(), "cannot create root") {
		t.Fatalf("New under a file: %v", err)
	}
	bad = *cfg
	bad.Runtimes = nil
	bad.DefaultRuntime = config.DefaultRuntime
	t.Setenv("PATH", t.TempDir())
	d, err := New(context.Background(), &bad)
	if err != nil {
		t.Fatalf("New without a runtime must still start: %v", err)
	}
	defer d.Close()
	info, _ := d.SystemInfo(context.Background())
	if !strings.Contains(strings.Join(info.Warnings, "\n"), "default runtime berth-runtime not found") {
		t.Fatalf("info warnings %q lack the missing runtime", info.Warnings)
	}
}

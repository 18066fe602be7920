package testutil

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/runtime/specgen"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

// BusyboxRootfs makes a minimal root filesystem in dir: a statically linked
// busybox with one symlink per applet, the directories a container expects,
// and /etc/passwd and /etc/group with root, daemon and nobody.
// It skips the test when busybox-static is not installed.
func BusyboxRootfs(t testing.TB, dir string) {
	t.Helper()
	bb := BusyboxPath
	if _, err := os.Stat(bb); err != nil {
		t.Skipf("busybox-static not installed (%v); apt-get install busybox-static", err)
	}
	if err := MakeBusyboxRootfs(bb, dir); err != nil {
		t.Fatalf("busybox rootfs: %v", err)
	}
}

// MakeBusyboxRootfs is BusyboxRootfs for code without a testing.TB (the
// bench and the README's demo use it through cmd helpers).
func MakeBusyboxRootfs(busybox, dir string) error {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "tmp", "root", "home", "var", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), os.ModeSticky|0o777); err != nil {
		return err
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return err
	}
	for _, name := range splitLines(string(out)) {
		if name == "" || name == "bin/busybox" {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(p), filepath.Join(dir, "bin/busybox"))
		if err != nil {
			return err
		}
		if err := os.Symlink(rel, p); err != nil && !os.IsExist(err) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":    "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n",
		"etc/hostname": "berth\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Bundle is an OCI bundle on disk: Dir/config.json and Dir/rootfs.
type Bundle struct {
	Dir  string
	Spec *specs.Spec
}

// Rootfs is the bundle's root filesystem directory.
func (b *Bundle) Rootfs() string { return filepath.Join(b.Dir, "rootfs") }

// Save writes b.Spec to config.json.
func (b *Bundle) Save(t testing.TB) {
	t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// NewBundle makes an OCI bundle under t.TempDir() with a busybox rootfs and
// a spec like `runc spec` generates (all namespaces but network and user),
// running args. edit, when not nil, changes the spec before it is saved.
func NewBundle(t testing.TB, args []string, edit func(*specs.Spec)) *Bundle {
	t.Helper()
	dir := t.TempDir()
	// The bundle must be reachable by container users that are not host
	// root (a user namespace's root, a non-zero uid): t.TempDir makes its
	// directories 0700.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := &Bundle{Dir: dir, Spec: DefaultSpec(args)}
	BusyboxRootfs(t, b.Rootfs())
	if edit != nil {
		edit(b.Spec)
	}
	b.Save(t)
	return b
}

// DefaultSpec is the spec `berth-runtime spec` writes, running args.
func DefaultSpec(args []string) *specs.Spec {
	s := specgen.Default()
	s.Process.Terminal = false
	s.Process.Args = args
	return s
}

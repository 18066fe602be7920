package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// RepoRoot is the repository's top directory (found from this file).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var shimOnce struct {
	sync.Once
	path string
	out  []byte
	err  error
}

// ShimBinary is $BERTH_SHIM when set (say bin/berth-shim from make);
// otherwise it compiles the C monitor (cmd/berth-shim/*.c) once per test
// process, with the Makefile's flags, into a directory under $HOME (not
// /tmp, which may be mounted noexec), and returns its path. It skips the
// test when there is no C compiler.
func ShimBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BERTH_SHIM"); p != "" {
		return p
	}
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler (cc) to build berth-shim")
	}
	shimOnce.Do(func() {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		dir := filepath.Join(home, ".cache", "berth-test")
		if shimOnce.err = os.MkdirAll(dir, 0o755); shimOnce.err != nil {
			return
		}
		shimOnce.path = filepath.Join(dir, "berth-shim")
		srcs, _ := filepath.Glob(filepath.Join(RepoRoot(), "cmd", "berth-shim", "*.c"))
		// Built beside, renamed over: a test process running in parallel
		// may be executing the previous binary.
		tmp := shimOnce.path + ".tmp"
		args := append([]string{"-O2", "-Wall", "-Wextra", "-Werror", "-DBERTH_VERSION=\"test\"", "-o", tmp}, srcs...)
		shimOnce.out, shimOnce.err = exec.Command("cc", args...).CombinedOutput()
		if shimOnce.err == nil {
			shimOnce.err = os.Rename(tmp, shimOnce.path)
		}
	})
	if shimOnce.err != nil {
		t.Fatalf("building berth-shim: %v\n%s", shimOnce.err, shimOnce.out)
	}
	return shimOnce.path
}

// RuntimeBinary is the OCI runtime binary tests drive: $BERTH_RUNTIME (a
// path, or a name in PATH), else bin/berth-runtime of this repository
// (`make build`). It skips the test
// when there is none.
func RuntimeBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("BERTH_RUNTIME")
	if p == "" {
		p = filepath.Join(RepoRoot(), "bin", "berth-runtime")
	}
	// A bare name (BERTH_RUNTIME=runc) is passed on as is: the shim
	// looks it up in PATH.
	if _, err := exec.LookPath(p); err != nil {
		t.Skipf("no OCI runtime binary (%v): run make build or set BERTH_RUNTIME", err)
	}
	return p
}

package netns

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/testutil"
)

func TestDo(t *testing.T) {
	testutil.RequiresRoot(t)
	host, err := os.Readlink("/proc/thread-self/ns/net") // the test's own, before any change
	if err != nil {
		t.Fatal(err)
	}
	// A namespace of our own, kept by a bind mount.
	path := filepath.Join(t.TempDir(), "ns")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, "")
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(path, unix.MNT_DETACH) })

	var inside, child string
	if err := Do(path, func() error {
		inside, _ = os.Readlink("/proc/thread-self/ns/net")
		out, err := exec.Command("ip", "-o", "link").Output()
		child = string(out)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inside == host {
		t.Errorf("fn ran in the host's namespace %s", host)
	}
	if strings.Count(strings.TrimSpace(child), "\n") != 0 || !strings.Contains(child, "lo:") {
		t.Errorf("a process fn started sees more than the new namespace's lo:\n%s", child)
	}
	if now, _ := os.Readlink("/proc/thread-self/ns/net"); now != host {
		t.Errorf("the caller's thread is in %s after Do, want %s", now, host)
	}
	if err := Do(filepath.Join(t.TempDir(), "missing"), func() error { return nil }); err == nil {
		t.Error("Do with a missing namespace succeeded")
	}
}

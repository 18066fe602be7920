package nsexec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/testutil"
)

// The test binary has prespawn.c's constructor too: run as
// `<test> --root DIR run`, it prespawns an init (this binary again, whose
// C stage waits for a bootstrap), and this TestMain reports on it.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "--root" && os.Args[3] == "run" {
		os.Exit(reportPrespawn())
	}
	os.Exit(m.Run())
}

type prespawnReport struct {
	Pid        int
	SameDevIno bool   // the init runs from this very file (not a protected view)
	WriteErr   string // reopening /proc/<init>/exe for writing
	Alive      bool   // the init waits in its C stage
	GoneAfter  bool   // Discard ended and reaped it
}

func reportPrespawn() int {
	var r prespawnReport
	p := TakePrespawned()
	if p == nil {
		fmt.Println("{}")
		return 0
	}
	r.Pid = p.Pid
	// The init is forked, then execs: wait (up to 2 s) for the exec.
	var self, init unix.Stat_t
	for i := 0; i < 200; i++ {
		if unix.Stat("/proc/self/exe", &self) == nil && unix.Stat(fmt.Sprintf("/proc/%d/exe", p.Pid), &init) == nil {
			r.SameDevIno = self.Dev == init.Dev && self.Ino == init.Ino
		}
		if !r.SameDevIno {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.WriteErr = "opened"
	if f, err := os.OpenFile(fmt.Sprintf("/proc/%d/exe", p.Pid), os.O_WRONLY, 0); err != nil {
		r.WriteErr = errors.Unwrap(err).Error()
	} else {
		f.Close()
	}
	r.Alive = unix.Kill(p.Pid, 0) == nil
	if TakePrespawned() != nil {
		r.WriteErr += "; taken twice"
	}
	p.Discard()
	r.GoneAfter = errors.Is(unix.Kill(p.Pid, 0), unix.ESRCH)
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	return 0
}

// TestPrespawn: `run` gets an init started before the Go runtime, from a
// read-only view of the executable (CVE-2019-5736), waiting for its
// bootstrap; it can be taken once, and Discard leaves no process.
func TestPrespawn(t *testing.T) {
	testutil.RequiresRoot(t)
	root := t.TempDir()
	// A root where no container has run yet (no .empty): no prespawn.
	out, err := exec.Command(os.Args[0], "--root", root, "run").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "{}" {
		t.Fatalf("prespawned in a fresh root: %v %s", err, out)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("the prespawn check left %d entries in a fresh root", len(entries))
	}
	if err := os.Mkdir(filepath.Join(root, ".empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(self, "--root", root, "run").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var r prespawnReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("report %q: %v", out, err)
	}
	if r.Pid <= 0 {
		t.Fatalf("no prespawned init: %s", out)
	}
	if r.SameDevIno || !r.Alive || !r.GoneAfter {
		t.Fatalf("prespawned init: %+v", r)
	}
	if !strings.Contains(r.WriteErr, "read-only file system") {
		t.Fatalf("writing the init's executable: %q, want read-only file system", r.WriteErr)
	}

}

package container

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dockerseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// probeSource reports the errno of keyctl, clone3 and getpid as the
// container sees them. It is built static with the host's gcc, since the
// busybox rootfs has no libc.
const probeSource = `
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
static void probe(const char *name, long nr) {
	errno = 0;
	long r = syscall(nr, 0, 0, 0, 0, 0);
	printf("%s=%d\n", name, r < 0 ? errno : 0);
}
int main(void) {
	probe("keyctl", SYS_keyctl);
	probe("clone3", SYS_clone3);
	probe("getpid", SYS_getpid);
	return 0;
}
`

// Docker's default seccomp profile, through the whole runtime: keyctl is
// refused with EPERM, clone3 with ENOSYS (so glibc falls back to clone),
// everyday calls work, and /proc/self/status says filter mode.
func TestDockerDefaultSeccompInContainer(t *testing.T) {
	rt := newRuntime(t)
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed")
	}
	b := bundle(t, []string{"/probe"}, func(s *specs.Spec) {
		sc, err := dockerseccomp.GetDefaultProfile(s)
		if err != nil {
			t.Fatal(err)
		}
		s.Linux.Seccomp = sc
	})
	src := filepath.Join(t.TempDir(), "probe.c")
	if err := os.WriteFile(src, []byte(probeSource), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-static", "-O1", "-o", filepath.Join(b.Rootfs(), "probe"), src).CombinedOutput(); err != nil {
		t.Skipf("cannot build a static probe: %v: %s", err, out)
	}
	code, out := run(t, rt, "seccomp", b)
	if code != 0 || strings.TrimSpace(out) != "keyctl=1\nclone3=38\ngetpid=0" {
		t.Fatalf("code %d, probe output %q; want keyctl=EPERM(1) clone3=ENOSYS(38) getpid=0", code, out)
	}
	b2 := bundle(t, []string{"grep", "^Seccomp:", "/proc/self/status"}, func(s *specs.Spec) {
		s.Linux.Seccomp, _ = dockerseccomp.GetDefaultProfile(s)
	})
	if code, out := run(t, rt, "seccomp2", b2); code != 0 || strings.Join(strings.Fields(out), " ") != "Seccomp: 2" {
		t.Fatalf("status: code %d %q", code, out)
	}
}

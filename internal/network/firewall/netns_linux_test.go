package firewall

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-engine/berth/internal/testutil"
)

// newTopologyB makes a bare namespace for a benchmark and returns its path.
func newTopologyB(b *testing.B) string {
	b.Helper()
	testutil.RequiresRoot(b)
	r := make([]byte, 4)
	rand.Read(r)
	name := "berth-test-" + hex.EncodeToString(r)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		b.Fatalf("ip netns add: %v %s", err, out)
	}
	b.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return "/var/run/netns/" + name
}

// testNetNS makes a named network namespace (ip netns add) removed when the
// test ends, and returns its name and path.
func testNetNS(t *testing.T) (string, string) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "berth-test-" + hex.EncodeToString(b)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name, "/var/run/netns/" + name
}

// run runs a command and fails the test on error.
func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// nsRun runs a command inside the namespace ns.
func nsRun(t *testing.T, ns string, args ...string) string {
	t.Helper()
	return run(t, append([]string{"ip", "netns", "exec", ns}, args...)...)
}

package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogDriverNone: --log-driver none keeps the attached output but writes
// no log file, and `docker logs` says the driver cannot be read, as dockerd.
func TestLogDriverNone(t *testing.T) {
	d := containerDaemon(t)
	if got := d.mustDocker("run", "--name", "nolog", "--log-driver", "none", "busybox", "echo", "hi"); got != "hi" {
		t.Errorf("attached output with the none driver: %q", got)
	}
	if got := d.mustDocker("inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "nolog"); got != "none" {
		t.Errorf("LogConfig.Type = %q", got)
	}
	out, err := d.docker("logs", "nolog")
	if err == nil || !strings.Contains(out, "configured logging driver does not support reading") {
		t.Errorf("logs of a none-driver container: err=%v %q", err, out)
	}
	id := d.mustDocker("inspect", "-f", "{{.Id}}", "nolog")
	logs, _ := filepath.Glob(filepath.Join(d.DataRoot, "containers", id, "*-json.log"))
	for _, l := range logs {
		if fi, err := os.Stat(l); err == nil && fi.Size() > 0 {
			t.Errorf("the none driver wrote %s (%d bytes)", l, fi.Size())
		}
	}
	d.mustFail(`logging driver "syslogx"`, "run", "--rm", "--log-driver", "syslogx", "busybox", "true")
	// A json-file container still gets the daemon's default, recorded.
	d.mustDocker("run", "--name", "withlog", "busybox", "echo", "kept")
	if got := d.mustDocker("inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "withlog"); got != "json-file" {
		t.Errorf("default LogConfig.Type = %q", got)
	}
	if got := d.mustDocker("logs", "withlog"); got != "kept" {
		t.Errorf("logs: %q", got)
	}
	d.mustDocker("rm", "nolog", "withlog")
}

package daemon

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// Without a TTY, stdin is data: ctrl-p ctrl-q inside binary input must
// reach the process, not detach the client (dockerd scans for the detach
// keys only under a TTY). Random input of 60 KB holds the pair more often
// than not; here it is there for sure, in run -i and in exec -i.
func TestStdinWithDetachKeysIsData(t *testing.T) {
	d := containerDaemon(t)
	data := bytes.Repeat([]byte("data \x10\x11 more \x10"), 5000)
	data = append(data, "\x11end"...)
	check := func(args ...string) {
		t.Helper()
		cmd := exec.Command("docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock)
		cmd.Stdin = bytes.NewReader(data)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, stderr.Bytes())
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("docker %v: %d bytes back of %d", args, len(out), len(data))
		}
	}
	check("run", "-i", "--rm", "busybox", "cat")
	d.mustDocker("run", "-d", "--name", "bin", "busybox", "sleep", "100")
	check("exec", "-i", "bin", "cat")
	d.mustDocker("rm", "-f", "bin")
}

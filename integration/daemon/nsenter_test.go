package daemon

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Debugging a container from the host with nsenter, on the pid that
// `docker inspect` reports: the namespaces found there are the
// container's (its hostname, its /etc/hostname, its pid 1).
func TestNsenterDebugging(t *testing.T) {
	d := containerDaemon(t)
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter not installed")
	}
	d.mustDocker("run", "-d", "--name", "nsdbg", "--hostname", "debugme", "busybox", "sleep", "100")
	pid := d.mustDocker("inspect", "-f", "{{.State.Pid}}", "nsdbg")
	script := `hostname; cat /etc/hostname; cat /proc/1/cmdline | tr '\0' ' '; echo; ls /proc | grep -c '^[0-9]*$'; echo $$`
	out, err := exec.Command("nsenter", "--target", pid, "--mount", "--uts", "--ipc", "--net", "--pid",
		"sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 5 {
		t.Fatalf("nsenter printed %q", out)
	}
	if lines[0] != "debugme" {
		t.Errorf("hostname %q: want the container's, debugme", lines[0])
	}
	// The mount namespace is the container's: /etc/hostname is the file
	// the container sees. (berthd does not generate /etc/hostname from
	// --hostname yet, as dockerd does: the image's file shows.)
	if inside := d.mustDocker("exec", "nsdbg", "cat", "/etc/hostname"); lines[1] != inside {
		t.Errorf("/etc/hostname through nsenter %q, in the container %q", lines[1], inside)
	}
	if host, _ := os.ReadFile("/etc/hostname"); lines[1] == strings.TrimSpace(string(host)) {
		t.Errorf("/etc/hostname through nsenter is the host's, %q", lines[1])
	}
	if lines[2] = strings.TrimSpace(lines[2]); lines[2] != "sleep 100" {
		t.Errorf("pid 1 is %q, want the container's sleep 100", lines[2])
	}
	// In the container's pid namespace /proc lists its processes: pid 1,
	// the shell and what the pipeline runs; never the host's hundreds.
	if n := lines[3]; n == "0" || len(n) > 1 {
		t.Errorf("%s pids in the container's /proc", n)
	}
	if lines[4] == pid || len(lines[4]) > 3 {
		t.Errorf("the shell's pid %s is not one of the container's namespace", lines[4])
	}
	// The namespaces are the container's, not the host's.
	for _, ns := range []string{"uts", "pid", "mnt", "net", "ipc"} {
		host, _ := os.Readlink("/proc/self/ns/" + ns)
		ctr, err := os.Readlink("/proc/" + pid + "/ns/" + ns)
		if err != nil || host == ctr {
			t.Errorf("%s namespace of the container %q (host %q, %v)", ns, ctr, host, err)
		}
	}
	d.mustDocker("rm", "-f", "nsdbg")
}

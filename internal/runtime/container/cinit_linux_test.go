package container

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A spec the C init handles, with a bit of everything it does: binds (a
// file, a read-only directory, recursive flags), tmpfs over an existing
// directory, the cgroup view, masked and read-only paths, a read-only root,
// sysctls, hostname and domainname, a missing cwd, a new network namespace,
// a spec device, a non-root user with groups, rlimits and capabilities.
func richSpec(t *testing.T, host string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		file := filepath.Join(host, "file")
		if err := os.WriteFile(file, []byte("from the host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/mnt/file", Source: file, Type: "bind", Options: []string{"bind", "ro"}},
			specs.Mount{Destination: "/mnt/dir", Source: host, Type: "bind", Options: []string{"rbind", "nosuid", "rro"}},
			specs.Mount{Destination: "/tmp", Source: "tmpfs", Type: "tmpfs", Options: []string{"nodev", "size=1m"}},
			specs.Mount{Destination: "/run/ro", Source: "tmpfs", Type: "tmpfs", Options: []string{"ro"}},
		)
		s.Root.Readonly = true
		s.Hostname, s.Domainname = "cinit-host", "cinit.example"
		hasNet := false
		for _, ns := range s.Linux.Namespaces {
			hasNet = hasNet || ns.Type == specs.NetworkNamespace
		}
		if !hasNet {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
		}
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
		s.Linux.MaskedPaths = []string{"/proc/kcore", "/proc/acpi", "/proc/missing"}
		s.Linux.ReadonlyPaths = []string{"/proc/sys", "/proc/bus"}
		mode := os.FileMode(0o640)
		uid, gid := uint32(0), uint32(0)
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid}}
		s.Process.Cwd = "/work/here"
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}}
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1024}}
		s.Process.Capabilities.Bounding = []string{"CAP_CHOWN", "CAP_NET_RAW"}
		s.Process.Capabilities.Ambient = nil
		s.Process.Capabilities.Inheritable = nil
		s.Process.Capabilities.Effective = []string{"CAP_CHOWN"}
		s.Process.Capabilities.Permitted = []string{"CAP_CHOWN"}
	}
}

const probe = `cat /proc/self/mountinfo | cut -d' ' -f4- | sed 's/,size=[0-9]*k//'
ls -ln /dev /sys/fs/cgroup /mnt | grep -v '^total'
hostname; cat /proc/sys/kernel/domainname; id; pwd; ulimit -n; ulimit -Hn
grep -E 'Cap|Seccomp|NoNewPrivs' /proc/self/status
cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /mnt/file
ip -o link 2>/dev/null | cut -d: -f2
touch /x 2>&1; touch /run/ro/x 2>&1; touch /tmp/x && echo tmp-writable; cat /proc/kcore | wc -c
`

// The C init and the Go init make the same container from the same spec.
func TestCInitMatchesGoInit(t *testing.T) {
	rt := newRuntime(t)
	host := t.TempDir()
	outs := map[string]string{}
	for _, mode := range []string{"c", "go"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "go" {
				t.Setenv("BERTH_RUNTIME_GO_INIT", "1")
			}
			b := bundle(t, []string{"sh", "-c", probe}, richSpec(t, host))
			spec, err := LoadSpec(b.Dir)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := planNamespaces(spec.Linux)
			if err != nil {
				t.Fatal(err)
			}
			in, _, err := cInit(spec, plan, filepath.Join(b.Dir, "rootfs"), b.Dir, CreateOpts{}, nil)
			if err != nil || (in != nil) != (mode == "c") {
				t.Fatalf("cInit = %v, %v in mode %s", in != nil, err, mode)
			}
			code, out := run(t, rt, "cinit-"+mode, b)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			outs[mode] = out
		})
	}
	// Timestamps in ls, the per-run cgroup and the bundle's path differ.
	norm := regexp.MustCompile(`[A-Z][a-z]{2} +[0-9]+ +[0-9:]+|berth-test-[^ /]*|/\S+/rootfs `)
	c := strings.TrimSpace(norm.ReplaceAllString(outs["c"], "T"))
	g := strings.TrimSpace(norm.ReplaceAllString(outs["go"], "T"))
	if c != g {
		t.Fatalf("C init and Go init differ:\n--- C\n%s\n--- Go\n%s", c, g)
	}
	for _, want := range []string{"cinit-host", "uid=1000", "/work/here", "512", "from the host", "tmp-writable", "Read-only file system", "fuse", "cinit.example"} {
		if !strings.Contains(c, want) {
			t.Errorf("output lacks %q:\n%s", want, c)
		}
	}
}

// Failures in the C init reach create as errors naming the mount, and
// leave nothing behind.
func TestCInitErrors(t *testing.T) {
	rt := newRuntime(t)
	cases := []struct {
		name string
		edit func(*specs.Spec)
		want string
	}{
		{"into /proc", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc/sys", Source: "tmpfs", Type: "tmpfs"})
		}, "a container cannot reach host paths through /proc"},
		{"bad tmpfs option", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Source: "tmpfs", Type: "tmpfs", Options: []string{"size=nonsense"}})
		}, "mount tmpfs on /data"},
		{"missing executable", func(s *specs.Spec) { s.Process.Args = []string{"/no/such/thing"} }, "no such file or directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bundle(t, []string{"true"}, tc.edit)
			_, err := rt.Create("cinit-err", CreateOpts{Bundle: b.Dir, Stdin: devNull(t), Stdout: devNull(t), Stderr: devNull(t)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create error = %v, want %q", err, tc.want)
			}
			if cs, _ := rt.List(); len(cs) != 0 {
				t.Fatalf("%d containers left after a failed create", len(cs))
			}
		})
	}
}

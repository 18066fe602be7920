package runtime_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/testutil"
)

// compareCase is one bundle run under runc and under berth-runtime.
type compareCase struct {
	name   string
	script string            // run as `sh -c script` in a busybox rootfs
	args   []string          // or these process args, when set
	edit   func(*specs.Spec) // changes to the default spec; nil for none
	// norm, when set, normalises stdout further; each one says why.
	norm func(string) string
	// refExit is what runc must return; it checks the reference and the
	// harness, not berth. -1 skips the check where the host decides.
	refExit int
	// runcDeviation, when set, says how runc 1.1.5 departs from the runtime
	// spec in this case; berth must then print want (and exit 0) instead of
	// matching runc.
	runcDeviation string
	want          string
}

// procStatus prints the capability sets, the no_new_privs bit and the
// seccomp mode (not the filter count: how many filters a runtime stacks for
// one profile is its own business).
const procStatus = `grep -E '^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status`

var cases = []compareCase{
	{name: "exit-0", script: "true", refExit: 0},
	{name: "exit-3", script: "echo before; exit 3", refExit: 3},
	{
		// pid 1 of a pid namespace ignores signals it has no handler for, so
		// the process that kills itself must not be an init.
		name: "killed-by-signal", script: "echo dying; kill -KILL $$", refExit: 137,
		edit: func(s *specs.Spec) { dropNamespace(s, specs.PIDNamespace) },
	},
	// The runtime itself cannot exec process.args[0]: runc reports it as its own error (exit 1).
	{name: "missing-executable", args: []string{"/no/such/binary"}, refExit: 1},
	{name: "missing-executable-in-shell", script: "exec /no/such/binary", refExit: 127},
	{name: "stdout", script: `echo hello; printf 'a\tb\n\n'; echo to-stderr >&2; printf 'no newline'`, refExit: 0},
	{name: "pid-namespace", script: `echo "pid $$"; tr '\0' ' ' </proc/1/cmdline; echo`, refExit: 0},
	{name: "caps-default", script: procStatus, refExit: 0},
	{
		name: "caps-custom", script: procStatus, refExit: 0,
		edit: func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_SETUID"},
				Effective:   []string{"CAP_CHOWN", "CAP_NET_ADMIN"},
				Permitted:   []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE"},
				Inheritable: []string{"CAP_NET_ADMIN"},
				Ambient:     []string{"CAP_NET_ADMIN"},
			}
			s.Process.NoNewPrivileges = false
		},
	},
	{
		name: "caps-non-root", script: procStatus + "; id", refExit: 0,
		edit: func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000}
			s.Process.Capabilities.Ambient = []string{"CAP_KILL"}
			s.Process.Capabilities.Inheritable = []string{"CAP_KILL"}
		},
	},
	{
		name: "seccomp-default-profile", refExit: 0,
		script: procStatus + `; unshare -U true 2>/dev/null; echo "unshare=$?"; ` +
			`mkdir /dev/shm/m && mount -t tmpfs t /dev/shm/m 2>/dev/null; echo "mount=$?"`,
		edit: func(s *specs.Spec) { s.Linux.Seccomp = dockerSeccomp(s) },
	},
	{
		name: "user-and-groups", script: `id; grep -E '^(Uid|Gid|Groups):' /proc/self/status; echo "HOME=$HOME"`, refExit: 0,
		edit: func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1, GID: 1, AdditionalGids: []uint32{10, 2000}}
		},
	},
	{name: "umask-default", script: "umask", refExit: 0},
	{
		name: "umask-set", script: "umask; touch /dev/shm/f; stat -c %a /dev/shm/f", refExit: 0,
		edit: func(s *specs.Spec) { u := uint32(0o027); s.Process.User.Umask = &u },
	},
	{name: "mounts", script: "cat /proc/self/mounts", norm: normMounts, refExit: 0},
	{
		name: "mounts-readwrite-root", script: "cat /proc/self/mounts", norm: normMounts, refExit: 0,
		edit: func(s *specs.Spec) { s.Root.Readonly = false },
	},
	{
		name: "hostname-domainname", script: "hostname; cat /proc/sys/kernel/domainname", refExit: 0,
		edit:          func(s *specs.Spec) { s.Hostname = "compare-host"; s.Domainname = "example.test" },
		runcDeviation: "runc 1.1.5 ignores domainname (runc 1.2 sets it)",
		want:          "compare-host\nexample.test\n",
	},
	{
		name: "env", script: "env | sort", refExit: 0,
		edit: func(s *specs.Spec) {
			s.Process.Env = append(s.Process.Env, "FOO=bar", "WITH_EQUALS=a=b", "EMPTY=")
		},
	},
	{
		name: "cwd", script: "pwd", refExit: 0,
		edit: func(s *specs.Spec) { s.Process.Cwd = "/usr/bin" },
	},
	{
		name: "cwd-missing", script: "pwd; stat -c '%a %u:%g' .", refExit: 0,
		edit: func(s *specs.Spec) { s.Root.Readonly = false; s.Process.Cwd = "/new/work/dir" },
	},
	{
		name: "rlimits", script: "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu", refExit: 0,
		edit: func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Soft: 256, Hard: 512},
				{Type: "RLIMIT_NPROC", Soft: 100, Hard: 200},
			}
		},
	},
	{
		// No rlimits in the spec: the container inherits the runtime's. A Go
		// runtime raises its own soft RLIMIT_NOFILE at start; whether that
		// leaks into the container shows here.
		name: "rlimits-inherited", script: "ulimit -n; ulimit -Hn", refExit: 0,
		edit: func(s *specs.Spec) { s.Process.Rlimits = nil },
	},
	{
		name: "readonly-root", refExit: 0,
		script: `touch /x 2>/dev/null; echo "root=$?"; mkdir /tmp/d 2>/dev/null; echo "tmp=$?"; ` +
			`touch /dev/shm/ok; echo "shm=$?"; touch /dev/ok; echo "dev=$?"`,
	},
	{
		name: "masked-and-readonly-paths", refExit: 0,
		script: `for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /sys/firmware; do ` +
			`[ -e $p ] && echo "$p $(stat -c %F $p) $(cat $p 2>/dev/null | wc -c) $(ls $p 2>/dev/null | wc -l)"; done; ` +
			`echo x 2>/dev/null >/proc/sys/kernel/domainname; echo "proc-sys-write=$?"; ` +
			`echo 1 2>/dev/null >/proc/sysrq-trigger; echo "sysrq=$?"`,
	},
	{
		name: "cgroup-limits", refExit: 0,
		script: `for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes cpu/cpu.cfs_quota_us ` +
			`cpu/cpu.cfs_period_us cpu/cpu.shares pids/pids.max; do ` +
			`[ -e /sys/fs/cgroup/$f ] && echo "$f $(cat /sys/fs/cgroup/$f)"; done; cat /proc/self/cgroup`,
		edit: func(s *specs.Spec) {
			limit, quota, period, shares := int64(64<<20), int64(50000), uint64(100000), uint64(512)
			s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
			s.Linux.Resources.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period, Shares: &shares}
			pids := int64(32)
			s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
		},
	},
	{
		name: "oom-score-adj", script: "cat /proc/self/oom_score_adj", refExit: 0,
		edit: func(s *specs.Spec) { v := 500; s.Process.OOMScoreAdj = &v },
	},
	{
		// Lowering the score needs CAP_SYS_RESOURCE in the runtime's
		// bounding set, which a sandboxed host may lack: both runtimes
		// must then fail alike.
		name: "oom-score-adj-negative", script: "cat /proc/self/oom_score_adj", refExit: -1,
		edit: func(s *specs.Spec) { v := -200; s.Process.OOMScoreAdj = &v },
	},
	{
		name: "sysctl", script: "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced", refExit: 0,
		edit: func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
		},
	},
	{
		// A net.* sysctl without a network namespace of the container's
		// own would change the host: the runtime must refuse.
		name: "sysctl-host-netns-refused", script: "cat /proc/sys/net/ipv4/ip_forward", refExit: 1,
		edit: func(s *specs.Spec) {
			dropNamespace(s, specs.NetworkNamespace)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		},
	},
	{name: "network-namespace", script: "ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags", refExit: 0},
	{
		name: "devices", refExit: 0,
		script: `ls -A /dev | sort; for d in null zero full random urandom tty ptmx pts/ptmx; do ` +
			`stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done; for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done`,
	},
	{
		name: "user-namespace", refExit: 0,
		script: `id; cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u:%g' /bin/busybox /proc; ` + procStatus,
		edit: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			// cgroup v1 cannot be mounted from a user namespace without an
			// owned cgroup namespace root; keep the case about ids.
			dropMount(s, "/sys/fs/cgroup")
		},
	},
}

// TestCompareWithRunc runs every case's bundle under runc and under
// berth-runtime (BERTH_RUNTIME, or ./cmd/berth-runtime built for the test)
// and requires the same exit code and stdout.
func TestCompareWithRunc(t *testing.T) {
	testutil.RequiresRoot(t)
	runcPath := os.Getenv("RUNC")
	if runcPath == "" {
		runcPath = "/usr/sbin/runc"
	}
	if _, err := exec.LookPath(runcPath); err != nil {
		t.Skipf("reference runtime runc not found (%v); apt-get install runc", err)
	}
	berthPath := berthRuntime(t)

	ref := ociRuntime{label: "runc", path: runcPath}
	sut := ociRuntime{label: "berth", path: berthPath}
	env := newCompareEnv(t, ref, sut)
	if isCrun(berthPath) {
		// Development stand-in only: crun 1.8 rejects ociVersion > 1.1 and
		// refuses hybrid cgroup hosts. Both runtimes get the older version.
		t.Logf("BERTH_RUNTIME is crun: ociVersion 1.1.0 in every bundle; crun runs with unified controllers masked")
		env.ociVersion = "1.1.0"
		env.sut.maskUnified = hybridCgroups()
	}

	type row struct{ name, ref, sut, same string }
	var rows []row
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if args == nil {
				args = []string{"sh", "-c", c.script}
			}
			b := testutil.NewBundle(t, args, c.edit)
			r := env.run(t, env.ref, b.Dir, c.norm)
			s := env.run(t, env.sut, b.Dir, c.norm)
			same := r.exit == s.exit && r.stdout == s.stdout
			verdict := map[bool]string{true: "yes", false: "NO"}[same]
			if c.refExit >= 0 && r.exit != c.refExit {
				t.Errorf("reference runc exited %d, want %d (host or harness problem)\nstdout:\n%s\nstderr:\n%s",
					r.exit, c.refExit, r.stdout, r.stderr)
			}
			switch {
			case c.runcDeviation != "":
				ok := s.exit == 0 && s.stdout == c.want
				verdict = map[bool]string{true: "spec", false: "NO"}[ok] + " (" + c.runcDeviation + ")"
				if !ok {
					t.Errorf("%s; berth must follow the spec (- want, + berth)\nexit: %d\nstdout:\n%s\nberth stderr:\n%s",
						c.runcDeviation, s.exit, lineDiff(c.want, s.stdout), s.stderr)
				}
			case !same:
				t.Errorf("runc and berth differ (- runc, + berth)\nexit: runc %d, berth %d\nstdout:\n%s\nrunc stderr:\n%s\nberth stderr:\n%s",
					r.exit, s.exit, lineDiff(r.stdout, s.stdout), r.stderr, s.stderr)
			}
			rows = append(rows, row{c.name, r.summary(), s.summary(), verdict})
		})
	}

	var tab strings.Builder
	w := tabwriter.NewWriter(&tab, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "case\trunc\tberth (%s)\tsame?\n", filepath.Base(berthPath))
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.name, r.ref, r.sut, r.same)
	}
	w.Flush()
	t.Logf("runc vs berth-runtime:\n%s", tab.String())
}

// berthRuntime returns BERTH_RUNTIME, or builds ./cmd/berth-runtime into a
// temporary directory. A runtime that is missing or does not build fails the
// test: this comparison is its acceptance check.
func berthRuntime(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BERTH_RUNTIME"); p != "" {
		abs, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("BERTH_RUNTIME=%s: %v", p, err)
		}
		return abs
	}
	out := filepath.Join(t.TempDir(), "berth-runtime")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/berth-runtime")
	cmd.Dir = moduleRoot(t)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building berth-runtime (set BERTH_RUNTIME to use a built one): %v\n%s", err, msg)
	}
	return out
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// dockerSeccomp is Docker's default seccomp profile as the spec section for
// s (the profile's rules depend on the process's capabilities).
func dockerSeccomp(s *specs.Spec) *specs.LinuxSeccomp {
	sc, err := seccomp.GetDefaultProfile(s)
	if err != nil {
		panic(err) // the profile is compiled in; an error is a bug in the module
	}
	return sc
}

func dropNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) {
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != typ {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
}

func dropMount(s *specs.Spec, dest string) {
	var ms []specs.Mount
	for _, m := range s.Mounts {
		if m.Destination != dest {
			ms = append(ms, m)
		}
	}
	s.Mounts = ms
}

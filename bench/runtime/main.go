// Command runtime measures OCI runtime start latency: the wall time of
// `<runtime> --root <dir> run --bundle <busybox bundle> <id>` for /bin/true,
// for berth-runtime, runc and crun side by side, with two floors that no
// runtime can beat: unshare(1) creating the same namespaces, and a plain
// fork+exec of /bin/true. Runs are interleaved (the order rotates every
// iteration) so that drift in the machine's state is shared fairly.
//
//	go run ./bench/runtime [-n 50] [-runtimes berth,runc,crun] [-berth bin/berth-runtime]
//
// It runs as root, inside a private mount namespace that it enters once at
// start (by re-executing itself): on a hybrid cgroup host whose cgroup2
// hierarchy offers controllers, crun refuses to start unless
// /sys/fs/cgroup/unified/cgroup.controllers is masked, so the bench masks it
// there, for every runtime alike and at no cost per run. -mask=false keeps
// the host's view (crun is then left out on such a host).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/testutil"
)

// inNamespaceEnv marks the re-executed child that already runs in the private mount namespace.
const inNamespaceEnv = "BERTH_BENCH_PRIVATE_MNTNS"

const unifiedControllers = "/sys/fs/cgroup/unified/cgroup.controllers"

// cgroupParent holds every run's cgroup, so that all runtimes create and
// remove one cgroup per run: cgroupsPath /berth-bench/<runtime>/<id>. Each
// runtime has a parent of its own, which it makes itself, as it would in
// use: how a runtime sets up a parent it makes (berth gives a v1 cpuset
// parent clone_children, so the kernel seeds each container's cpuset) must
// not change another runtime's numbers.
const cgroupParent = "/berth-bench"

// ociVersion is written into the bench bundle: crun 1.8 rejects anything
// newer than 1.1, and the same bundle goes to every runtime.
const ociVersion = "1.1.0"

type options struct {
	n        int
	warmup   int
	runtimes []string
	berth    string
	runc     string
	crun     string
	mask     bool
	netns    bool
}

func main() {
	var o options
	var runtimes string
	flag.IntVar(&o.n, "n", 50, "measured runs per runtime and phase")
	flag.IntVar(&o.warmup, "warmup", 3, "unmeasured runs per runtime first")
	flag.StringVar(&runtimes, "runtimes", "berth,runc,crun", "runtimes to measure, in the first iteration's order")
	flag.StringVar(&o.berth, "berth", "bin/berth-runtime", "path of berth-runtime")
	flag.StringVar(&o.runc, "runc", "runc", "path of runc")
	flag.StringVar(&o.crun, "crun", "crun", "path of crun")
	flag.BoolVar(&o.mask, "mask", true, "run in a private mount namespace with the unified cgroup controllers masked (needed by crun on hybrid hosts)")
	flag.BoolVar(&o.netns, "netns", true, "also measure with a new network namespace")
	flag.Parse()
	o.runtimes = strings.Split(runtimes, ",")

	if os.Geteuid() != 0 {
		fatalf("the bench creates namespaces and cgroups: run it as root")
	}
	if o.mask && os.Getenv(inNamespaceEnv) == "" {
		os.Exit(reexecInPrivateMountNamespace())
	}
	if err := run(o); err != nil {
		fatalf("%v", err)
	}
}

// reexecInPrivateMountNamespace runs this program again in a new mount
// namespace (Go marks / recursively private in the child, as unshare(1)
// does) and returns its exit code.
func reexecInPrivateMountNamespace() int {
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), inNamespaceEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fatalf("re-exec in a private mount namespace: %v", err)
	}
	return 0
}

// hybridWithControllers tells whether cgroup2 offers controllers beside v1
// ones: the layout crun 1.8 refuses.
func hybridWithControllers() bool {
	data, err := os.ReadFile(unifiedControllers)
	return err == nil && len(bytes.TrimSpace(data)) > 0
}

// subject is one thing to time: a runtime or a floor.
type subject struct {
	name string
	// start runs one iteration and returns its timed part; id is unique per call.
	start func(id string) (time.Duration, error)
	// samples are the measured durations, one per iteration.
	samples []time.Duration
}

func run(o options) error {
	masked := false
	if os.Getenv(inNamespaceEnv) != "" && hybridWithControllers() {
		// Only this process's private mount namespace sees the mask.
		if err := syscall.Mount("/dev/null", unifiedControllers, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("mask %s: %w", unifiedControllers, err)
		}
		masked = true
	}

	work, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	if err := testutil.MakeBusyboxRootfs(testutil.BusyboxPath, filepath.Join(work, "rootfs")); err != nil {
		return fmt.Errorf("busybox rootfs (apt-get install busybox-static): %w", err)
	}
	defer removeCgroupParent()

	paths := map[string]string{"berth": o.berth, "runc": o.runc, "crun": o.crun}
	var names []string
	var skipped []string
	for _, name := range o.runtimes {
		p, ok := paths[name]
		if !ok {
			return fmt.Errorf("unknown runtime %q (berth, runc, crun)", name)
		}
		abs, err := exec.LookPath(p)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s (%v)", name, err))
			continue
		}
		if name == "crun" && !masked && hybridWithControllers() {
			skipped = append(skipped, "crun (refuses this hybrid cgroup host unless masked; drop -mask=false)")
			continue
		}
		paths[name] = abs
		names = append(names, name)
	}

	fmt.Printf("OCI runtime start latency: `run` of /bin/true in a busybox bundle, %d runs each after %d warm-up, interleaved\n", o.n, o.warmup)
	if masked {
		fmt.Printf("private mount namespace with %s masked (all runtimes alike)\n", unifiedControllers)
	}
	for _, s := range skipped {
		fmt.Printf("skipped: %s\n", s)
	}
	for _, name := range names {
		fmt.Printf("%-6s %s (%s)\n", name, paths[name], version(paths[name]))
	}

	phases := []struct {
		label string
		netns bool
	}{{"namespaces pid, ipc, uts, mount, cgroup (no network)", false}}
	if o.netns {
		phases = append(phases, struct {
			label string
			netns bool
		}{"namespaces pid, ipc, uts, mount, cgroup + new network namespace", true})
	}
	for _, ph := range phases {
		bundle := filepath.Join(work, map[bool]string{false: "bundle", true: "bundle-net"}[ph.netns])
		if err := writeBundle(bundle, filepath.Join(work, "rootfs"), ph.netns); err != nil {
			return err
		}
		var subjects []*subject
		for _, name := range names {
			root := filepath.Join(work, "state-"+name)
			subjects = append(subjects, &subject{name: name, start: runtimeStart(paths[name], root, bundle, cgroupParent+"/"+name)})
		}
		unshareArgs := []string{"--fork", "--pid", "--mount", "--uts", "--ipc", "--cgroup"}
		if ph.netns {
			unshareArgs = append(unshareArgs, "--net")
		}
		// The floors exec the bundle's own static busybox true, as the containers do.
		trueBin := filepath.Join(work, "rootfs", "bin", "true")
		subjects = append(subjects,
			&subject{name: "unshare (floor)", start: commandStart("unshare", append(unshareArgs, trueBin)...)},
			&subject{name: "fork+exec (floor)", start: commandStart(trueBin)},
		)
		if err := measure(o, subjects); err != nil {
			return err
		}
		fmt.Printf("\n%s\n", ph.label)
		report(os.Stdout, subjects)
	}
	return nil
}

// writeBundle writes config.json for /bin/true into dir, with rootfs
// pointing at the shared root filesystem, all namespaces but user and
// (unless netns) network, and a cgroupsPath per run filled in by the caller.
func writeBundle(dir, rootfs string, netns bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s := testutil.DefaultSpec([]string{"/bin/true"})
	s.Version = ociVersion
	s.Root = &specs.Root{Path: rootfs, Readonly: true}
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.NetworkNamespace || netns {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
}

// runtimeStart returns a start func that runs the bundle under the runtime
// binary at path. Each run gets its own cgroupsPath, written into the bundle
// before the clock starts: a shared one would make every run join one cgroup.
func runtimeStart(path, root, bundle, parent string) func(id string) (time.Duration, error) {
	return func(id string) (time.Duration, error) {
		if err := setCgroupsPath(bundle, parent+"/"+id); err != nil {
			return 0, err
		}
		var stderr bytes.Buffer
		cmd := exec.Command(path, "--root", root, "run", "--bundle", bundle, id)
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		t0 := time.Now()
		err := cmd.Run()
		d := time.Since(t0)
		if err != nil {
			// Leave nothing behind, then report.
			_ = exec.Command(path, "--root", root, "delete", "--force", id).Run()
			return 0, fmt.Errorf("%s run %s: %v: %s", filepath.Base(path), id, err, strings.TrimSpace(stderr.String()))
		}
		return d, nil
	}
}

func commandStart(name string, args ...string) func(string) (time.Duration, error) {
	return func(string) (time.Duration, error) {
		t0 := time.Now()
		err := exec.Command(name, args...).Run()
		return time.Since(t0), err
	}
}

func setCgroupsPath(bundle, cgroupsPath string) error {
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	s.Linux.CgroupsPath = cgroupsPath
	if data, err = json.MarshalIndent(&s, "", "  "); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// measure runs warm-up rounds, then o.n rounds in which every subject runs
// once, starting each round one subject further along.
func measure(o options, subjects []*subject) error {
	seq := 0
	for round := -o.warmup; round < o.n; round++ {
		for k := range subjects {
			s := subjects[(k+max(round, 0))%len(subjects)]
			seq++
			d, err := s.start(fmt.Sprintf("bench-%d-%d", os.Getpid(), seq))
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if round >= 0 {
				s.samples = append(s.samples, d)
			}
		}
		removeCgroupParent()
	}
	return nil
}

type stats struct{ median, p90, min time.Duration }

func summarize(d []time.Duration) stats {
	s := slices.Clone(d)
	slices.Sort(s)
	// Nearest-rank percentiles.
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return stats{median: rank(0.5), p90: rank(0.9), min: s[0]}
}

func report(w io.Writer, subjects []*subject) {
	fmt.Fprintf(w, "%-18s %10s %10s %10s\n", "", "median", "p90", "min")
	st := map[string]stats{}
	for _, s := range subjects {
		st[s.name] = summarize(s.samples)
		fmt.Fprintf(w, "%-18s %10s %10s %10s\n", s.name, ms(st[s.name].median), ms(st[s.name].p90), ms(st[s.name].min))
	}
	b, ok := st["berth"]
	if !ok {
		return
	}
	for _, other := range []string{"crun", "runc"} {
		if o, ok := st[other]; ok {
			fmt.Fprintf(w, "berth/%s: %.2fx median, %.2fx p90, %.2fx min\n", other,
				ratio(b.median, o.median), ratio(b.p90, o.p90), ratio(b.min, o.min))
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// removeCgroupParent removes /berth-bench (and any run cgroup a runtime
// left) from every hierarchy; busy directories stay and are retried later.
func removeCgroupParent() {
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hierarchies {
		if fi, err := os.Lstat(h); err != nil || !fi.IsDir() {
			continue
		}
		// Depth first: runs' leftovers (none unless a run failed), each
		// runtime's parent, then the bench's.
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(h, cgroupParent), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	}
}

func version(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "version unknown"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/runtime: "+format+"\n", args...)
	os.Exit(1)
}

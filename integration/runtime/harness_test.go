package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupParent is the cgroup directory (under every v1 hierarchy, and the
// unified one) that holds one child per container run; each run gets its own
// child so that no run sees another's limits. Removed when empty.
const cgroupParent = "/berth-compare-test"

// runTimeout bounds one `run`; every case's process exits on its own at once.
const runTimeout = 60 * time.Second

// ociRuntime is one runtime binary driven through runc's command line.
type ociRuntime struct {
	label string // column heading: "runc" or "berth"
	path  string
	// maskUnified runs the binary in a private mount namespace in which
	// /sys/fs/cgroup/unified/cgroup.controllers is masked: crun 1.8 refuses to
	// start on a hybrid cgroup host otherwise. Only set for crun, which stands
	// in for berth-runtime while that is being written.
	maskUnified bool
}

// runResult is what a case compares: the runtime's exit code (the
// container's status, 128+n for a signal) and the container's stdout,
// normalised. Stderr mixes the container's with the runtime's own messages,
// so it is only shown, never compared.
type runResult struct {
	exit   int
	stdout string
	stderr string
}

var runSeq atomic.Int64

// compareEnv holds what every run shares: a work directory that
// user-namespaced containers can traverse (t.TempDir's parent is 0700) and
// the two runtimes.
type compareEnv struct {
	work string
	ref  ociRuntime // runc, the reference
	sut  ociRuntime // berth-runtime (or a stand-in)
	// ociVersion, when set, replaces the spec's ociVersion in every bundle
	// (for both runtimes, so they still see the same bundle).
	ociVersion string
}

func newCompareEnv(t *testing.T, ref, sut ociRuntime) *compareEnv {
	t.Helper()
	work, err := os.MkdirTemp("", "berth-compare-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return &compareEnv{work: work, ref: ref, sut: sut}
}

// run copies the bundle at src to a fresh directory, gives it a cgroupsPath
// of its own, runs it to completion under rt and returns the normalised
// result. Everything the run made (container state, cgroups, the copy) is
// removed when the test ends.
func (e *compareEnv) run(t *testing.T, rt ociRuntime, src string, norm func(string) string) runResult {
	t.Helper()
	n := runSeq.Add(1)
	id := fmt.Sprintf("berth-cmp-%d-%d", os.Getpid(), n)
	bundle := filepath.Join(e.work, fmt.Sprintf("bundle-%d", n))
	root := filepath.Join(e.work, "state-"+rt.label)
	cgroupsPath := cgroupParent + "/" + id

	if out, err := exec.Command("cp", "-a", src, bundle).CombinedOutput(); err != nil {
		t.Fatalf("copy bundle: %v: %s", err, out)
	}
	editConfig(t, bundle, func(s *specs.Spec) {
		s.Linux.CgroupsPath = cgroupsPath
		if e.ociVersion != "" {
			s.Version = e.ociVersion
		}
	})
	t.Cleanup(func() {
		// delete --force also covers a run that was cut off by the timeout.
		_ = rt.command(context.Background(), "--root", root, "delete", "--force", id).Run()
		removeCgroup(t, cgroupsPath)
	})

	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := rt.command(ctx, "--root", root, "run", "--bundle", bundle, id)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = nil // /dev/null
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s run %s: timed out after %v; stderr: %s", rt.label, id, runTimeout, stderr.String())
	}
	exit, err := exitCode(err)
	if err != nil {
		t.Fatalf("%s run: %v", rt.label, err)
	}

	// The only run-dependent strings: the container id, where its bundle and
	// state live, and its cgroup.
	out := stdout.String()
	out = strings.NewReplacer(bundle, "<bundle>", root, "<root>", cgroupsPath, "<cgroup>", id, "<id>").Replace(out)
	if norm != nil {
		out = norm(out)
	}
	return runResult{exit: exit, stdout: out, stderr: stderr.String()}
}

// command builds an exec.Cmd for the runtime with args.
func (rt ociRuntime) command(ctx context.Context, args ...string) *exec.Cmd {
	if !rt.maskUnified {
		return exec.CommandContext(ctx, rt.path, args...)
	}
	const script = `mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers && exec "$@"`
	full := append([]string{"--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", rt.path}, args...)
	return exec.CommandContext(ctx, "unshare", full...)
}

// exitCode turns cmd.Run's error into a shell-style status: the exit code,
// or 128+n when the runtime process was killed by signal n.
func exitCode(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, err
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok {
		return ee.ExitCode(), nil
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

func editConfig(t *testing.T, bundle string, edit func(*specs.Spec)) {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	if data, err = json.MarshalIndent(&s, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// removeCgroup removes path (and cgroupParent when it is left empty) from
// every mounted hierarchy. A runtime removes its container's cgroups on
// delete; this catches one that does not, and reports it.
func removeCgroup(t *testing.T, path string) {
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hierarchies {
		if fi, err := os.Lstat(h); err != nil || !fi.IsDir() {
			continue // symlinks such as cpu,cpuacct -> cpu
		}
		dir := filepath.Join(h, path)
		if _, err := os.Stat(dir); err == nil {
			if err := os.Remove(dir); err != nil {
				t.Logf("cgroup %s left behind: %v", dir, err)
			}
		}
		_ = os.Remove(filepath.Join(h, cgroupParent)) // fails while other runs use it
	}
}

// normMounts reduces /proc/self/mounts to "mount-point fs-type options" with
// the options sorted, and sorts the lines. The source field is dropped (it
// names host devices and bundle paths) and so is the order: the kernel lists
// mounts in creation order, which differs between runtimes that set up the
// same mounts (e.g. cgroup hierarchies, masked paths) in another sequence.
func normMounts(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 {
			lines = append(lines, l)
			continue
		}
		opts := strings.Split(f[3], ",")
		sort.Strings(opts)
		lines = append(lines, f[1]+" "+f[2]+" "+strings.Join(opts, ","))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// lineDiff returns a's and b's lines with "-" for lines only in a, "+" for
// lines only in b and " " for common ones (longest common subsequence).
func lineDiff(a, b string) string {
	x := strings.Split(strings.TrimSuffix(a, "\n"), "\n")
	y := strings.Split(strings.TrimSuffix(b, "\n"), "\n")
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			fmt.Fprintf(&out, "  %s\n", x[i])
			i, j = i+1, j+1
		case j == len(y) || (i < len(x) && lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&out, "- %s\n", x[i])
			i++
		default:
			fmt.Fprintf(&out, "+ %s\n", y[j])
			j++
		}
	}
	return out.String()
}

// summary is a table cell: the exit code and the start of stdout.
func (r runResult) summary() string {
	first, rest, _ := strings.Cut(strings.TrimSpace(r.stdout), "\n")
	if len(first) > 40 {
		first = first[:37] + "..."
	}
	s := fmt.Sprintf("exit %d", r.exit)
	if first != "" {
		s += fmt.Sprintf(" %q", first)
	}
	if rest != "" {
		s += fmt.Sprintf(" +%d lines", strings.Count(rest, "\n")+1)
	}
	return s
}

// isCrun tells whether the binary at path is crun (by its --version).
func isCrun(path string) bool {
	out, err := exec.Command(path, "--version").Output()
	return err == nil && strings.HasPrefix(string(out), "crun ")
}

// hybridCgroups tells whether the host has cgroup v1 controllers beside a
// cgroup2 mount that has controllers of its own to offer.
func hybridCgroups() bool {
	data, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	return err == nil && len(bytes.TrimSpace(data)) > 0
}

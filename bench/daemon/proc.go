package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// mem is one process's memory from /proc/PID/smaps_rollup, in KiB.
type mem struct {
	RSS  int64 `json:"rss_kib"`
	PSS  int64 `json:"pss_kib"`
	Anon int64 `json:"anon_kib"` // anonymous pages: heap, stacks, not the binary
}

func (m mem) add(o mem) mem { return mem{m.RSS + o.RSS, m.PSS + o.PSS, m.Anon + o.Anon} }

// readMem reads Rss, Pss and Anonymous of pid. PSS divides each shared
// page by the number of processes mapping it, so ten monitors of one
// binary share its text; RSS counts it whole in each. PSS also shares with
// processes that are not ours (another dockerd of the same binary on the
// host lowers dockerd's); the anonymous pages (heap, stacks) do not depend
// on other processes.
func readMem(pid int) (mem, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return mem{}, err
	}
	defer f.Close()
	var m mem
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "Rss:":
			m.RSS = v
		case "Pss:":
			m.PSS = v
		case "Anonymous:":
			m.Anon = v
		}
	}
	if err := sc.Err(); err != nil {
		return mem{}, err
	}
	if m.RSS == 0 {
		return mem{}, fmt.Errorf("pid %d: no Rss in smaps_rollup", pid)
	}
	return m, nil
}

// stat returns comm and ppid from /proc/PID/stat (comm may hold spaces
// and parentheses: it ends at the last ')').
func stat(pid int) (comm string, ppid int, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, err
	}
	comm, ppid, err = parseStat(data)
	if err != nil {
		return "", 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	return comm, ppid, nil
}

func parseStat(data []byte) (comm string, ppid int, err error) {
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return "", 0, errors.New("malformed stat")
	}
	rest := strings.Fields(string(data[end+1:]))
	if len(rest) < 2 {
		return "", 0, errors.New("malformed stat")
	}
	ppid, err = strconv.Atoi(rest[1])
	return string(data[open+1 : end]), ppid, err
}

func comm(pid int) string {
	c, _, _ := stat(pid)
	return c
}

func parent(pid int) (int, error) {
	_, ppid, err := stat(pid)
	return ppid, err
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func allPids() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	for _, p := range allPids() {
		if _, pp, err := stat(p); err == nil && pp == pid {
			out = append(out, p)
		}
	}
	return out
}

// processesUnder finds processes whose command line or executable names a
// path under dir: what our daemons started (shims carry their exec root or
// containerd's socket under it in their arguments or working directory).
func processesUnder(dir string) []int {
	self := os.Getpid()
	var out []int
	for _, p := range allPids() {
		if p == self {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", p))
		if bytes.Contains(cmdline, []byte(dir+"/")) || strings.HasPrefix(cwd, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// mountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return slices.Compact(out), nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll detaches every mount under dir (repeatedly: stacked mounts
// show one at a time).
func unmountAll(dir string) error {
	for range 5 {
		mps, err := mountsUnder(dir)
		if err != nil || len(mps) == 0 {
			return err
		}
		for _, mp := range mps {
			_ = syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
	if mps, _ := mountsUnder(dir); len(mps) > 0 {
		return fmt.Errorf("mounts left under %s: %s", dir, strings.Join(mps, " "))
	}
	return nil
}

// shimPidFile reads berth's exec-root/shims/<id>/shim.pid, if present.
func shimPidFile(execRoot, id string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(execRoot, "shims", id, "shim.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid, err == nil
}

// leftoverCgroups finds cgroup directories still named after one of ids
// (the engines nest them one level down: berth/<id>, docker/<id>, on v1
// and on the v2 or hybrid unified hierarchy) and removes the empty ones.
// It returns one line per container: its short id, how many directories
// were found and which could not be removed.
func leftoverCgroups(ids []string) []string {
	var out []string
	for _, id := range ids {
		found := 0
		var busy []string
		for _, pattern := range []string{"/sys/fs/cgroup/*/" + id, "/sys/fs/cgroup/*/*/" + id} {
			matches, _ := filepath.Glob(pattern)
			for _, m := range matches {
				found++
				if err := syscall.Rmdir(m); err != nil {
					busy = append(busy, fmt.Sprintf("%s (%v)", m, err))
				}
			}
		}
		if found > 0 {
			line := fmt.Sprintf("%.12s: %d dirs", id, found)
			if len(busy) > 0 {
				line += ", not removed: " + strings.Join(busy, " ")
			}
			out = append(out, line)
		}
	}
	return out
}

// processesOfContainers finds processes whose cgroup is named after one of
// ids: the containers' own processes, which outlive a killed monitor.
func processesOfContainers(ids []string) []int {
	if len(ids) == 0 {
		return nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []int
	for _, p := range allPids() {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", p))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(data)) {
			if want[filepath.Base(strings.TrimSpace(line))] {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

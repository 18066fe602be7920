package cgroups

import (
	"bytes"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// layoutCache remembers, for one host mount layout, the directory each v1
// hierarchy's cgroups live under, as the library found them: the paths of a
// cgroup with an absolute cgroupsPath P are then prefix+P, without the
// library's discovery (a stat or statfs per subsystem and mount point).
//
// The key is a hash of every cgroup, cgroup2 and /sys/fs/cgroup mount line
// of /proc/self/mountinfo, less the mount IDs (which change at every
// remount), so a remount, a new hierarchy or a different mount namespace
// rebuilds it. A missing, unreadable or stale file only means the discovery
// runs (and the file is rewritten). Both run on every create before the
// init can start, so neither parses more than it must: the lines are
// hashed as they are (FNV-1a), and the file is lines, not JSON.
type layoutCache struct {
	file  string
	key   string
	inner string
}

// layoutMagic starts the file; its version changes with the format.
const layoutMagic = "berth cgroup layout 2 "

// layoutCacheFor returns nil when the cache does not apply: no file, a v2
// host (fs2 finds its directory without discovery), rootless, or a
// cgroupsPath that is not absolute and clean.
func layoutCacheFor(opts Options, v2 bool, cgPath string) *layoutCache {
	if opts.LayoutCache == "" || v2 || opts.Rootless || !filepath.IsAbs(cgPath) || filepath.Clean(cgPath) != cgPath || cgPath == "/" {
		return nil
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	return &layoutCache{file: opts.LayoutCache, key: mountLayoutKey(data), inner: cgPath}
}

// mountLayoutKey hashes the cgroup mount lines of a mountinfo table:
// "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS OPTIONAL... - FSTYPE SOURCE
// SUPEROPTIONS", from MAJ:MIN on.
func mountLayoutKey(mountinfo []byte) string {
	h := fnv.New64a()
	for len(mountinfo) > 0 {
		line := mountinfo
		if i := bytes.IndexByte(mountinfo, '\n'); i >= 0 {
			line, mountinfo = mountinfo[:i], mountinfo[i+1:]
		} else {
			mountinfo = nil
		}
		f := bytes.SplitN(line, []byte{' '}, 6)
		if len(f) < 6 {
			continue
		}
		mp := f[4]
		sep := bytes.Index(line, []byte(" - "))
		if sep < 0 {
			continue
		}
		fstype, _, _ := bytes.Cut(line[sep+3:], []byte{' '})
		if !bytes.Equal(fstype, []byte("cgroup")) && !bytes.Equal(fstype, []byte("cgroup2")) &&
			!bytes.Equal(mp, []byte("/sys/fs/cgroup")) && !bytes.HasPrefix(mp, []byte("/sys/fs/cgroup/")) {
			continue
		}
		rest := line[len(f[0])+1+len(f[1])+1:]
		h.Write(rest)
		h.Write([]byte{'\n'})
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// paths returns the cached paths for c's cgroupsPath, or nil.
func (c *layoutCache) paths() map[string]string {
	if c == nil {
		return nil
	}
	data, err := os.ReadFile(c.file)
	if err != nil {
		return nil
	}
	first, body, _ := strings.Cut(string(data), "\n")
	if first != layoutMagic+c.key || body == "" {
		return nil
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		sub, prefix, ok := strings.Cut(l, "\t")
		if !ok || !filepath.IsAbs(prefix) {
			return nil
		}
		out[sub] = filepath.Join(prefix, c.inner)
	}
	return out
}

// save records the prefixes of paths the library found for c.inner; it
// keeps quiet on failure (the cache is an optimisation).
func (c *layoutCache) save(paths map[string]string) {
	if c == nil || len(paths) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString(layoutMagic + c.key + "\n")
	for sub, p := range paths {
		prefix, ok := strings.CutSuffix(p, c.inner)
		if !ok || !filepath.IsAbs(prefix) || filepath.Join(prefix, c.inner) != p ||
			strings.ContainsAny(sub+prefix, "\t\n") {
			return
		}
		b.WriteString(sub + "\t" + prefix + "\n")
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.file), "."+filepath.Base(c.file)+".*")
	if err != nil {
		return
	}
	_, werr := tmp.WriteString(b.String())
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), c.file) != nil {
		_ = os.Remove(tmp.Name())
	}
}

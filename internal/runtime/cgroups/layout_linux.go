package cgroups

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// layoutCache remembers, for one host mount layout, the directory each v1
// hierarchy's cgroups live under, as the library found them: the paths of a
// cgroup with an absolute cgroupsPath P are then prefix+P, without the
// library's discovery (a stat or statfs per subsystem and mount point).
//
// The key is a hash of every cgroup, cgroup2 and /sys/fs/cgroup mount of
// /proc/self/mountinfo (one read, github.com/moby/sys/mountinfo), so a
// remount, a new hierarchy or a different mount namespace rebuilds it. A missing, unreadable or stale
// file only means the discovery runs (and the file is rewritten).
type layoutCache struct {
	file  string
	key   string
	inner string
}

type layoutFile struct {
	Key      string            `json:"key"`
	Prefixes map[string]string `json:"prefixes"`
}

// layoutCacheFor returns nil when the cache does not apply: no file, a v2
// host (fs2 finds its directory without discovery), rootless, or a
// cgroupsPath that is not absolute and clean.
func layoutCacheFor(opts Options, v2 bool, cgPath string) *layoutCache {
	if opts.LayoutCache == "" || v2 || opts.Rootless || !filepath.IsAbs(cgPath) || filepath.Clean(cgPath) != cgPath || cgPath == "/" {
		return nil
	}
	key, err := mountLayoutKey()
	if err != nil {
		return nil
	}
	return &layoutCache{file: opts.LayoutCache, key: key, inner: cgPath}
}

func mountLayoutKey() (string, error) {
	mounts, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		keep := m.FSType == "cgroup" || m.FSType == "cgroup2" || m.Mountpoint == "/sys/fs/cgroup" ||
			strings.HasPrefix(m.Mountpoint, "/sys/fs/cgroup/")
		return !keep, false
	})
	if err != nil {
		return "", err
	}
	// Mount IDs change at every remount: leave them out, keep what says
	// where and what is mounted.
	h := sha256.New()
	for _, m := range mounts {
		fmt.Fprintf(h, "%d:%d %q %q %q %q %q %q %q\n", m.Major, m.Minor, m.Root, m.Mountpoint, m.Options,
			m.Optional, m.FSType, m.Source, m.VFSOptions)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
	var lf layoutFile
	if json.Unmarshal(data, &lf) != nil || lf.Key != c.key || len(lf.Prefixes) == 0 {
		return nil
	}
	out := make(map[string]string, len(lf.Prefixes))
	for sub, prefix := range lf.Prefixes {
		if !filepath.IsAbs(prefix) {
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
	lf := layoutFile{Key: c.key, Prefixes: map[string]string{}}
	for sub, p := range paths {
		prefix, ok := strings.CutSuffix(p, c.inner)
		if !ok || !filepath.IsAbs(prefix) || filepath.Join(prefix, c.inner) != p {
			return
		}
		lf.Prefixes[sub] = prefix
	}
	data, err := json.Marshal(lf)
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.file), "."+filepath.Base(c.file)+".*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), c.file) != nil {
		_ = os.Remove(tmp.Name())
	}
}

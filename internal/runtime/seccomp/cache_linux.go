//go:build linux && cgo

package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/runtime/specjson"
)

// CompileCached is Compile with an on-disk cache of encoded Programs in dir,
// so that a profile used by many containers (Docker's default, typically) is
// compiled once. The key covers the profile's JSON, the libseccomp version,
// GOARCH and the encoding version. A missing or undecodable entry is
// compiled and (re)written atomically.
//
// A cached filter is trusted as-is, so dir must be a directory owned by the
// caller's effective uid and writable by nobody else (for example
// /run/berth/seccomp); CompileCached checks this and refuses otherwise.
func CompileCached(dir string, cfg *specs.LinuxSeccomp) (*Program, error) {
	if cfg == nil {
		return nil, nil
	}
	if err := checkCacheDir(dir); err != nil {
		return nil, fmt.Errorf("seccomp: cache: %w", err)
	}
	key, err := cacheKey(cfg)
	if err != nil {
		return nil, fmt.Errorf("seccomp: cache: %w", err)
	}
	path := filepath.Join(dir, key+".bpf")
	if data, err := os.ReadFile(path); err == nil {
		p := new(Program)
		if p.UnmarshalBinary(data) == nil {
			return p, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("seccomp: cache: %w", err)
	}
	p, err := Compile(cfg)
	if err != nil {
		return nil, err
	}
	data, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(path, data); err != nil {
		return nil, fmt.Errorf("seccomp: cache: %w", err)
	}
	return p, nil
}

func cacheKey(cfg *specs.LinuxSeccomp) (string, error) {
	js, err := specjson.MarshalSeccomp(cfg) // json.Marshal's bytes, without its cold reflection
	if err != nil {
		return "", fmt.Errorf("encode profile: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "berth-seccomp v%d libseccomp %s %s\n", programVersion, libVersion(), runtime.GOARCH)
	h.Write(js)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func checkCacheDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s must be owned by uid %d and not writable by group or others (owner %d, mode %v)", dir, os.Geteuid(), st.Uid, fi.Mode().Perm())
	}
	return nil
}

// writeAtomic writes data to a temporary file in path's directory, syncs
// it and renames it over path, so readers see all of it or none.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

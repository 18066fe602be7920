// Package atomicfile writes files so that a reader, or the next start after
// a crash, sees either the old content or the whole new content: a
// temporary file in the same directory, fsync, rename, fsync of the
// directory. It is a leaf: it imports nothing of berth's. (The runtime,
// which may import nothing outside internal/runtime, keeps its own copy.)
package atomicfile

import (
	"os"
	"path/filepath"
)

// TempPrefix is how temporary files for base start, so a store that finds
// some after a crash can recognise and remove them.
func TempPrefix(base string) string { return "." + base + ".tmp-" }

// WriteFile replaces path with data, with mode perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix(filepath.Base(path)))
	if err != nil {
		return err
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	done = true
	return SyncDir(dir)
}

// SyncDir makes a rename or create in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

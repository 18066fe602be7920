package archive

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
)

// ChangeKind is what happened to a path, with docker's numbering (the API's
// FilesystemChange.Kind).
type ChangeKind uint8

const (
	ChangeModify ChangeKind = 0
	ChangeAdd    ChangeKind = 1
	ChangeDelete ChangeKind = 2
)

// Change is one path of a writable layer's diff; Path is absolute
// ("/etc/passwd").
type Change struct {
	Path string
	Kind ChangeKind
}

// OverlayChanges lists what the overlayfs upper directory upper changes
// over the layers lowers (top first), as docker diff reports it:
//   - a whiteout (a 0/0 character device) is the deletion of its path;
//   - an opaque directory (a directory removed and made again: it hides
//     what the layers below had there) is a directory like any other: its
//     new content is listed, the lower content it hides is not, as dockerd
//     (20.10, overlay2) reports it;
//   - any other path is added, or modified when a lower layer has it; a
//     directory copied up unchanged (same mode, size and mtime) is not a
//     change by itself;
//   - the parent directory of an added or deleted path is reported
//     modified, once, even when its own attributes did not change.
//
// The list is in walk (lexical) order, each parent before its children.
func OverlayChanges(upper string, lowers []string) ([]Change, error) {
	var changes []Change
	listed := map[string]bool{} // directories already reported
	err := filepath.WalkDir(upper, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		name := "/" + filepath.ToSlash(rel)
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked (a running container)
			}
			return err
		}
		c := Change{Path: name, Kind: ChangeAdd}
		switch {
		case isWhiteout(fi):
			c.Kind = ChangeDelete
		default:
			for _, l := range lowers {
				lfi, err := os.Lstat(filepath.Join(l, rel))
				if err != nil {
					continue
				}
				if lfi.IsDir() && fi.IsDir() && lfi.Mode() == fi.Mode() && lfi.Size() == fi.Size() && lfi.ModTime().Equal(fi.ModTime()) {
					return nil // copied up for a child's sake; the child reports it
				}
				c.Kind = ChangeModify
				break
			}
		}
		if fi.IsDir() {
			listed[name] = true
		}
		if c.Kind != ChangeModify {
			if parent := path.Dir(name); parent != "/" && !listed[parent] {
				changes = append(changes, Change{Path: parent, Kind: ChangeModify})
				listed[parent] = true
			}
		}
		changes = append(changes, c)
		return nil
	})
	return changes, err
}

// isWhiteout: overlayfs marks a deleted path with a character device 0/0.
func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

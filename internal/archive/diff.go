package archive

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// WriteOverlayDiff writes the overlayfs upper directory upper to w as an
// image layer tar (docker commit's new layer): a whiteout device becomes a
// .wh.<name> entry, a directory marked opaque is followed by its
// .wh..wh..opq entry, files sharing an inode become hard links, and the
// overlay's own trusted.* attributes are left out. Owners are numeric.
// Entries are in lexical order, each directory before its content.
func WriteOverlayDiff(ctx context.Context, w io.Writer, upper string) error {
	tw := tar.NewWriter(w)
	inodes := map[uint64]string{} // inode → first name written
	err := filepath.WalkDir(upper, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(rel)
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked (a running container)
			}
			return err
		}
		if isWhiteout(fi) {
			dir, base := filepath.Split(name)
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base, Mode: 0o600, ModTime: fi.ModTime(), Format: tar.FormatPAX})
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name, hdr.Uname, hdr.Gname, hdr.Format = name, "", "", tar.FormatPAX
		if fi.IsDir() {
			hdr.Name += "/"
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
			if fi.Mode().IsRegular() && st.Nlink > 1 {
				if first, seen := inodes[st.Ino]; seen {
					hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				} else {
					inodes[st.Ino] = name
				}
			}
		}
		if v, ok := getXattr(p, "security.capability"); ok {
			hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": v}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, hdr.Size)
			f.Close()
			if err != nil {
				return err
			}
		}
		if fi.IsDir() {
			if v, ok := getXattr(p, "trusted.overlay.opaque"); ok && v == "y" {
				return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name + "/" + whiteoutOpaque, Mode: 0o600, ModTime: fi.ModTime(), Format: tar.FormatPAX})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func getXattr(p, attr string) (string, bool) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, attr, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return "", false
		}
		return string(buf[:n]), true
	}
}

package daemon

import (
	"archive/tar"
	"io"
	"path"
	"slices"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"
)

// The runtime creates empty files at /etc/hosts, /etc/hostname and
// /etc/resolv.conf to bind-mount the container's over them when the image
// has none; they land in the writable layer. dockerd keeps them in an init
// layer under the container's, so that diff and commit never show them:
// berth filters them out instead.

var initFiles = []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}

// dropInitChanges removes the mount points' additions from a diff, and
// /etc's change when they were all that changed there.
func dropInitChanges(in []ctypes.FilesystemChange) []ctypes.FilesystemChange {
	out := slices.DeleteFunc(slices.Clone(in), func(ch ctypes.FilesystemChange) bool {
		return ch.Kind == ctypes.ChangeAdd && slices.Contains(initFiles, ch.Path)
	})
	if len(out) == len(in) {
		return out
	}
	underEtc := slices.ContainsFunc(out, func(ch ctypes.FilesystemChange) bool { return strings.HasPrefix(ch.Path, "/etc/") })
	if !underEtc {
		out = slices.DeleteFunc(out, func(ch ctypes.FilesystemChange) bool { return ch.Path == "/etc" && ch.Kind == ctypes.ChangeModify })
	}
	return out
}

// dropInitFiles copies the layer tar r to w without the empty mount-point
// files.
func dropInitFiles(r io.Reader, w io.Writer) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		name := "/" + strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if h.Typeflag == tar.TypeReg && h.Size == 0 && slices.Contains(initFiles, name) {
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// ErrUnsafe marks a tar entry that would write outside the layer root or that
// the options forbid (device nodes).
var ErrUnsafe = errors.New("unsafe tar entry")

// ErrCorrupt marks a stream that is not a well-formed (compressed) tar.
var ErrCorrupt = errors.New("corrupt layer")

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// Options tune Apply.
type Options struct {
	// AllowDevices lets character and block device entries be created;
	// without it they fail with ErrUnsafe. FIFOs are always allowed.
	AllowDevices bool
}

// Apply unpacks the layer tar r (compressed or not) onto dir, which holds the
// layers below it (or is empty for a base layer), and returns the layer's
// size as docker counts it over a layer's diff directory: the bytes of its
// regular files (a hard link adds nothing) and of its symlinks' targets; tar
// headers, directories and whiteouts count nothing. The stream is read to
// its end, so a digest taken of it covers the padding too. Whiteouts delete
// from dir. A hostile entry (absolute
// name, "..", a path through a symlink leading out of dir, a hard link out of
// dir, a forbidden device) fails with an error wrapping ErrUnsafe; dir may then
// hold part of the layer. Ownership is applied only when running as root.
func Apply(ctx context.Context, dir string, r io.Reader, opts Options) (int64, error) {
	dr, _, err := Decompress(r)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer dr.Close()
	rootPath, err := canonicalRoot(dir)
	if err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(rootPath)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	var size int64
	a := &applier{root: root, rootPath: rootPath, opts: opts, seen: map[string]bool{}, chown: os.Geteuid() == 0}
	tr := tar.NewReader(dr)
	for {
		if err := ctx.Err(); err != nil {
			return size, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return size, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if err := a.entry(hdr, tr); err != nil {
			return size, fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			if !strings.HasPrefix(path.Base(hdr.Name), whiteoutPrefix) {
				size += hdr.Size
			}
		case tar.TypeSymlink:
			size += int64(len(hdr.Linkname))
		}
	}
	// Directory times last: creating their children changed them.
	for i := len(a.dirs) - 1; i >= 0; i-- {
		d := a.dirs[i]
		_ = root.Chtimes(d.name, d.atime, d.mtime)
	}
	// Drain the padding after the end-of-archive blocks.
	if _, err := io.Copy(io.Discard, dr); err != nil {
		return size, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return size, nil
}

// canonicalRoot resolves the symlinks in dir's own path, except for a
// process's root link (/proc/PID/root): that one names another mount
// namespace's root, which readlink reports as "/", the host's root from
// here. It is kept as given; os.OpenRoot and securejoin reach through it.
func canonicalRoot(dir string) (string, error) {
	clean := filepath.Clean(dir)
	if procRoot.MatchString(clean) {
		return clean, nil
	}
	return filepath.EvalSymlinks(clean)
}

var procRoot = regexp.MustCompile(`^/proc/[0-9]+/root$`)

type dirTime struct {
	name         string
	atime, mtime time.Time
}

type applier struct {
	root     *os.Root
	rootPath string
	opts     Options
	chown    bool
	seen     map[string]bool // names this layer created: an opaque marker keeps them
	dirs     []dirTime
}

// cleanName turns a tar name into a path relative to the root, refusing
// absolute names and any ".." component.
func cleanName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute path", ErrUnsafe)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: \"..\" in path", ErrUnsafe)
		}
	}
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: NUL in path", ErrUnsafe)
	}
	return path.Clean(name), nil
}

func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		return nil // the root itself: its mode belongs to whoever made dir
	}
	if name, err = a.resolveParent(name); err != nil {
		return err
	}
	dir, base := path.Split(name)
	dir = path.Clean(dir)
	if dir != "." {
		if err := a.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if base == whiteoutOpaque {
		return a.opaque(dir)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		target := strings.TrimPrefix(base, whiteoutPrefix)
		if target == "" || target == "." || target == ".." {
			return fmt.Errorf("%w: whiteout of %q", ErrUnsafe, target)
		}
		err := a.root.RemoveAll(path.Join(dir, target))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}

	fi, err := a.root.Lstat(name)
	switch {
	case err == nil && fi.IsDir() && hdr.Typeflag == tar.TypeDir:
		// keep it; metadata below
	case err == nil:
		if err := a.root.RemoveAll(name); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}

	mode := hdr.FileInfo().Mode()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := a.root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case tar.TypeReg, tar.TypeRegA:
		f, err := a.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := a.root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err == nil {
			target, err = a.resolveParent(target)
		}
		if err != nil {
			return fmt.Errorf("hard link target: %w", err)
		}
		if err := a.root.Link(target, name); err != nil {
			return err
		}
		a.seen[name] = true
		return nil // a hard link shares the target's metadata
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if hdr.Typeflag != tar.TypeFifo && !a.opts.AllowDevices {
			return fmt.Errorf("%w: device node", ErrUnsafe)
		}
		if err := a.mknod(dir, base, hdr); err != nil {
			return err
		}
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	a.seen[name] = true

	if a.chown {
		if err := a.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeSymlink {
		return nil
	}
	if err := a.root.Chmod(name, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir || hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
		if err := a.xattrs(name, hdr); err != nil {
			return err
		}
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	if hdr.Typeflag == tar.TypeDir {
		a.dirs = append(a.dirs, dirTime{name, atime, hdr.ModTime})
		return nil
	}
	return a.root.Chtimes(name, atime, hdr.ModTime)
}

// resolveParent resolves the directories above name as the container will
// see them: symlinks followed, absolute ones and ".." taken relative to the
// layer root (securejoin), so an image's "var/run -> /run" works as under
// docker. os.Root then refuses anything that would still leave the root.
func (a *applier) resolveParent(name string) (string, error) {
	dir, base := path.Split(name)
	dir = path.Clean(dir)
	if dir == "." {
		return name, nil
	}
	full, err := securejoin.SecureJoin(a.rootPath, filepath.FromSlash(dir))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(a.rootPath, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: %s resolves outside the root", ErrUnsafe, dir)
	}
	return path.Join(filepath.ToSlash(rel), base), nil
}

// opaque removes what lower layers put in dir, keeping this layer's entries.
func (a *applier) opaque(dir string) error {
	f, err := a.root.Open(dir)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		p := path.Join(dir, n)
		if a.seen[p] {
			continue
		}
		if err := a.root.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) xattrs(name string, hdr *tar.Header) error {
	var f *os.File
	for k, v := range hdr.PAXRecords {
		key, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		if f == nil {
			var err error
			if f, err = a.root.Open(name); err != nil {
				return err
			}
			defer f.Close()
		}
		if err := unix.Fsetxattr(int(f.Fd()), key, []byte(v), 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
				continue // a filesystem or namespace that cannot hold it
			}
			return fmt.Errorf("xattr %s: %w", key, err)
		}
	}
	return nil
}

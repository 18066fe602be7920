package daemon

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/sys/user"

	"github.com/berth-engine/berth/internal/archive"
	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/mount"
)

// The archive routes (docker cp) see the container's root filesystem from
// the host: its rootfs mount while it runs, else a mount of its snapshot
// made for the request. Every path is resolved inside that root with
// securejoin, so a symlink in the container (absolute or through "..")
// resolves as it would for a process chrooted there and never reaches a
// host path.
//
// A running container is seen through /proc/PID/root of its init: the
// root of its own mount namespace, so binds, volumes and tmpfs mounts are
// read and written where the container's processes see them (dockerd
// bind-mounts the volumes into the host's view instead, and misses tmpfs).
// A stopped container's volumes and binds are bind-mounted over its
// snapshot, read-only where the container mounts them read-only.

// containerPath is a request path resolved inside root.
type containerPath struct {
	abs      string // the path in the container, absolute, trailing "/" or "/." kept
	resolved string // host path: parents resolved inside root; the last element too if abs ends in "/" or "/."
}

// resolveContainerPath resolves p (relative paths count from "/", as
// dockerd) inside root. The parents' symlinks are followed within root; the
// last element is followed only when p ends with "/" or "/.", so a stat or
// a copy of a symlink is of the link itself, as dockerd does.
func resolveContainerPath(root, p string) (containerPath, error) {
	if p == "" {
		return containerPath{}, errdefs.New(errdefs.ErrInvalidParameter, "bad parameter: pathcannot be empty")
	}
	abs := path.Join("/", p)
	follow := strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || p == "."
	switch {
	case strings.HasSuffix(p, "/."):
		abs = strings.TrimSuffix(abs, "/") + "/."
	case strings.HasSuffix(p, "/") && abs != "/":
		abs += "/"
	}
	clean := path.Clean(abs)
	var resolved string
	if follow || clean == "/" {
		r, err := securejoin.SecureJoin(root, clean)
		if err != nil {
			return containerPath{}, err
		}
		resolved = r
	} else {
		dir, base := path.Split(clean)
		r, err := securejoin.SecureJoin(root, dir)
		if err != nil {
			return containerPath{}, err
		}
		resolved = filepath.Join(r, base)
	}
	if !within(root, resolved) {
		// securejoin never returns a path outside root; keep the check so
		// a change there cannot turn into a host write.
		return containerPath{}, fmt.Errorf("%s resolves outside the container root: %w", p, archive.ErrUnsafe)
	}
	return containerPath{abs: abs, resolved: resolved}, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// statContainerPath answers for rp as dockerd's X-Docker-Container-Path-Stat:
// the link's target is its resolution inside the container.
func statContainerPath(root string, rp containerPath, notFound func() error) (*ctypes.PathStat, error) {
	rel, err := filepath.Rel(root, rp.resolved)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fi, err := r.Lstat(rel)
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound()
	}
	if errors.Is(err, syscall.ENOTDIR) || (err == nil && !fi.IsDir() && (strings.HasSuffix(rp.abs, "/") || strings.HasSuffix(rp.abs, "/."))) {
		// dockerd 20.10 answers a path through (or ending in "/" after)
		// a non-directory with a 500; it names the host path, berth the
		// container's.
		return nil, errdefs.New(errdefs.ErrSystem, fmt.Sprintf("lstat %s: not a directory", rp.abs))
	}
	if err != nil {
		return nil, err
	}
	st := &ctypes.PathStat{
		Name:  path.Base(rp.abs),
		Size:  fi.Size(),
		Mode:  fi.Mode(),
		Mtime: fi.ModTime(),
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := securejoin.SecureJoin(root, path.Clean(rp.abs))
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, target)
		if err != nil {
			return nil, err
		}
		st.LinkTarget = path.Join("/", filepath.ToSlash(rel))
	}
	return st, nil
}

// withContainerRoot calls fn with the host path of c's root filesystem.
func (d *Daemon) withContainerRoot(ctx context.Context, c *container.Container, writable bool, fn func(root string) error) error {
	c.Lock()
	// A container waiting to be restarted counts as running but has no
	// rootfs mount: use its layers like a stopped one's.
	running := c.State.Running && !c.State.Restarting
	pid := c.State.Pid
	binds := stoppedBinds(c)
	c.Unlock()
	if running && pid > 0 {
		return fn(fmt.Sprintf("/proc/%d/root", pid))
	}
	var (
		ms  []mount.Mount
		err error
	)
	if writable {
		ms, err = d.snapshots.Mounts(ctx, c.ID)
	} else {
		ms, err = d.snapshots.ReadOnlyMounts(ctx, c.ID)
	}
	if err != nil {
		return fmt.Errorf("container %s layer: %w", c.ID, classify(err))
	}
	return mount.WithTempMount(ctx, ms, func(root string) error {
		undo, err := bindInto(root, binds)
		defer undo()
		if err != nil {
			return err
		}
		return fn(root)
	})
}

// cpBind is one host directory or file a stopped container would see at
// dst: a bind (-v /host:/dst, --mount type=bind) or a volume.
type cpBind struct {
	src, dst string
	ro       bool
}

// stoppedBinds lists c's binds and volumes, shortest destination first so
// that nested ones land on top. tmpfs mounts hold nothing while stopped.
// c must be locked.
func stoppedBinds(c *container.Container) []cpBind {
	var out []cpBind
	for _, v := range c.Volumes {
		if v.Source != "" {
			out = append(out, cpBind{src: v.Source, dst: v.Destination, ro: !v.RW})
		}
	}
	if hc := c.HostConfig; hc != nil {
		for _, spec := range hc.Binds {
			if b, err := container.ParseBind(spec); err == nil && !b.Volume {
				out = append(out, cpBind{src: b.Source, dst: b.Destination, ro: b.ReadOnly})
			}
		}
		for _, m := range hc.Mounts {
			if m.Type == "bind" && m.Source != "" {
				out = append(out, cpBind{src: m.Source, dst: m.Target, ro: m.ReadOnly})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(path.Clean(out[i].dst)) < len(path.Clean(out[j].dst)) })
	return out
}

// bindInto bind-mounts each of binds at its destination resolved inside
// root (a private temporary mount of a stopped container's snapshot). A
// destination that does not exist in the snapshot is skipped: the runtime
// would create it at start, and the copy then lands in the rootfs as it
// does for dockerd. undo unmounts in reverse order; call it always.
func bindInto(root string, binds []cpBind) (undo func(), err error) {
	var done []string
	undo = func() {
		for i := len(done) - 1; i >= 0; i-- {
			_ = syscall.Unmount(done[i], syscall.MNT_DETACH)
		}
	}
	for _, b := range binds {
		dst, err := securejoin.SecureJoin(root, path.Join("/", b.dst))
		if err != nil {
			return undo, err
		}
		if _, err := os.Lstat(dst); err != nil {
			continue
		}
		if _, err := os.Stat(b.src); err != nil {
			continue // a bind whose source is gone: the start would fail on it
		}
		if err := syscall.Mount(b.src, dst, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return undo, fmt.Errorf("binding %s at %s for the copy: %w", b.src, b.dst, err)
		}
		done = append(done, dst)
		if b.ro {
			if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
				return undo, fmt.Errorf("read-only bind of %s: %w", b.dst, err)
			}
		}
	}
	return undo, nil
}

func notFoundIn(p, name string) func() error {
	return func() error {
		return errdefs.New(errdefs.ErrNotFound, fmt.Sprintf("Could not find the file %s in container %s", p, name))
	}
}

// ContainerStatPath stats path inside the container (HEAD .../archive).
func (d *Daemon) ContainerStatPath(ctx context.Context, idOrName, p string) (*ctypes.PathStat, error) {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return nil, err
	}
	var st *ctypes.PathStat
	err = d.withContainerRoot(ctx, c, false, func(root string) error {
		rp, err := resolveContainerPath(root, p)
		if err != nil {
			return err
		}
		st, err = statContainerPath(root, rp, notFoundIn(p, idOrName))
		return err
	})
	return st, err
}

// ContainerArchivePath writes a tar of path inside the container to w
// (GET .../archive), its top entry named after the path's last element.
// start is called with the path's stat once the tar is ready, before the
// first byte (the router sends its headers then).
func (d *Daemon) ContainerArchivePath(ctx context.Context, idOrName, p string, start func(*ctypes.PathStat), w io.Writer) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	return d.withContainerRoot(ctx, c, false, func(root string) error {
		rp, err := resolveContainerPath(root, p)
		if err != nil {
			return err
		}
		st, err := statContainerPath(root, rp, notFoundIn(p, idOrName))
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, rp.resolved)
		if err != nil {
			return err
		}
		name := path.Base(rp.abs)
		if name == "." {
			name = "./" // dockerd sends a "dir/." copy as ./, ./a, ...
		}
		r, err := os.OpenRoot(root)
		if err != nil {
			return err
		}
		defer r.Close()
		start(st)
		tw := tar.NewWriter(w)
		if err := tarTree(ctx, r, filepath.ToSlash(rel), name, tw); err != nil {
			return fmt.Errorf("container %s archive %s: %w", c.ID, p, err)
		}
		if err := tw.Close(); err != nil {
			return err
		}
		d.LogContainerEvent(c, eventtypes.ActionArchivePath, nil)
		return nil
	})
}

// tarTree writes rel (a path under r) as name and, for a directory,
// everything beneath it. Every lookup goes through r, an os.Root, so a
// running container that swaps a directory for a symlink while the tar is
// made cannot point the walk outside its root (the race of CVE-2018-15664):
// such a lookup fails instead. Symlinks are sent as links, sockets skipped
// as dockerd does; hard links are sent as separate files.
func tarTree(ctx context.Context, r *os.Root, rel, name string, tw *tar.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := r.Lstat(rel)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket != 0 {
		return nil
	}
	var link string
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = r.Readlink(rel); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	// Owner names would be the host's: keep the numbers only.
	hdr.Name, hdr.Uname, hdr.Gname = name, "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	if fi.IsDir() && !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	switch {
	case fi.Mode().IsRegular():
		f, err := r.Open(rel)
		if err != nil {
			return err
		}
		defer f.Close()
		// A file that shrank meanwhile fails here rather than sending a
		// short entry.
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	case fi.IsDir():
		f, err := r.Open(rel)
		if err != nil {
			return err
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return err
		}
		sort.Strings(names)
		prefix := strings.TrimSuffix(hdr.Name, "/") + "/"
		for _, n := range names {
			if err := tarTree(ctx, r, path.Join(rel, n), prefix+n, tw); err != nil {
				return err
			}
		}
	}
	return nil
}

// extractOptions are the PUT .../archive query's flags, resolved.
type extractOptions struct {
	// noOverwriteDirNonDir refuses to replace a directory with a
	// non-directory or the reverse.
	noOverwriteDirNonDir bool
	// owner, when set, owns every entry: copyUIDGID on a container with a
	// User. Otherwise the tar's owners are kept, as dockerd 20.10 does.
	owner *[2]int
}

// ContainerExtractToDir unpacks the tar r into the directory path inside
// the container (PUT .../archive). Entries are placed relative to that
// directory; one with an absolute name, a ".." component, a hard link
// leaving the directory or a whiteout name is refused (ErrInvalidParameter),
// and symlinks met on the way are resolved inside the container's root.
func (d *Daemon) ContainerExtractToDir(ctx context.Context, idOrName, p string, noOverwriteDirNonDir, copyUIDGID bool, r io.Reader) error {
	opts := extractOptions{noOverwriteDirNonDir: noOverwriteDirNonDir}
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	c.Lock()
	ro := c.HostConfig != nil && c.HostConfig.ReadonlyRootfs
	var ctrUser string
	if c.Config != nil {
		ctrUser = c.Config.User
	}
	c.Unlock()
	if ro {
		// dockerd 20.10 answers this with a 500 and these words.
		return errdefs.New(errdefs.ErrSystem, "container rootfs is marked read-only")
	}
	return d.withContainerRoot(ctx, c, true, func(root string) error {
		if p == "" {
			return errdefs.New(errdefs.ErrInvalidParameter, "bad parameter: pathcannot be empty")
		}
		// The extraction point must be a directory: follow it entirely.
		target, err := securejoin.SecureJoin(root, path.Join("/", p))
		if err != nil {
			return err
		}
		fi, err := os.Stat(target)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return notFoundIn(p, idOrName)()
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			// dockerd 20.10: a 500 with these words.
			return errdefs.New(errdefs.ErrSystem, "extraction point is not a directory")
		}
		rel, err := filepath.Rel(root, target)
		if err != nil || !within(root, target) {
			return fmt.Errorf("%s resolves outside the container root: %w", p, archive.ErrUnsafe)
		}
		if copyUIDGID && ctrUser != "" {
			// -a: everything belongs to the container's user, looked up
			// in the container's own passwd and group files.
			passwd, err := securejoin.SecureJoin(root, "/etc/passwd")
			if err != nil {
				return err
			}
			group, err := securejoin.SecureJoin(root, "/etc/group")
			if err != nil {
				return err
			}
			eu, err := user.GetExecUserPath(ctrUser, &user.ExecUser{}, passwd, group)
			if err != nil {
				return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("unable to find user %s: %v", ctrUser, err))
			}
			opts.owner = &[2]int{eu.Uid, eu.Gid}
		}
		if err := extractInto(ctx, root, filepath.ToSlash(rel), opts, r); err != nil {
			return err
		}
		d.LogContainerEvent(c, eventtypes.ActionExtractToDir, nil)
		return nil
	})
}

// extractInto applies the tar r at dir (relative to root) through
// archive.Apply rooted at the container's root, so its checks (no path
// through a symlink out of root, no hard link out of root) hold for the
// whole container. Names are checked and prefixed with dir first.
func extractInto(ctx context.Context, root, dir string, opts extractOptions, r io.Reader) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := archive.Apply(ctx, root, pr, archive.Options{})
		pr.CloseWithError(err)
		done <- err
	}()
	rerr := rewriteTar(root, dir, opts, r, pw)
	pw.CloseWithError(rerr)
	aerr := <-done
	if rerr != nil {
		return rerr
	}
	if aerr != nil {
		if errors.Is(aerr, archive.ErrUnsafe) || errors.Is(aerr, archive.ErrCorrupt) {
			return fmt.Errorf("%w: %v", errdefs.ErrInvalidParameter, aerr)
		}
		return aerr
	}
	return nil
}

// rewriteTar copies the tar in to out with each name placed under dir.
func rewriteTar(root, dir string, opts extractOptions, in io.Reader, out io.Writer) error {
	dr, _, err := archive.Decompress(in)
	if err != nil {
		return fmt.Errorf("%w: %v", errdefs.ErrInvalidParameter, err)
	}
	defer dr.Close()
	tr := tar.NewReader(dr)
	tw := tar.NewWriter(out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errdefs.ErrInvalidParameter, err)
		}
		name, err := cpEntryName(hdr.Name)
		if err != nil {
			return err
		}
		if strings.HasPrefix(path.Base(name), ".wh.") {
			return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("tar entry %q: whiteout names are not supported", hdr.Name))
		}
		hdr.Name = path.Join(dir, name)
		if hdr.Typeflag == tar.TypeLink {
			ln, err := cpEntryName(hdr.Linkname)
			if err != nil {
				return fmt.Errorf("hard link %q: %w", hdr.Name, err)
			}
			hdr.Linkname = path.Join(dir, ln)
		}
		if opts.owner != nil {
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = opts.owner[0], opts.owner[1], "", ""
		}
		if opts.noOverwriteDirNonDir {
			if err := checkDirNonDir(root, hdr); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	return tw.Close()
}

// cpEntryName refuses an absolute name or one with a ".." component.
func cpEntryName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("tar entry %q: absolute path: %v", name, archive.ErrUnsafe))
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("tar entry %q: \"..\" in path: %v", name, archive.ErrUnsafe))
		}
	}
	return path.Clean(name), nil
}

// checkDirNonDir refuses an entry that would replace an existing
// directory with a non-directory or the reverse.
func checkDirNonDir(root string, hdr *tar.Header) error {
	p, err := securejoin.SecureJoin(root, hdr.Name)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return nil
	}
	isDir := hdr.Typeflag == tar.TypeDir
	switch {
	case fi.IsDir() && !isDir:
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("cannot overwrite directory %q with non-directory %q", "/"+hdr.Name, hdr.Name))
	case !fi.IsDir() && isDir:
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("cannot overwrite non-directory %q with directory %q", "/"+hdr.Name, hdr.Name))
	}
	return nil
}

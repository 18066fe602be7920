package container

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/berth-engine/berth/internal/runtime/cgroups"
)

// DefaultRoot is where berth-runtime keeps container state unless --root says
// otherwise (runc uses /run/runc).
const DefaultRoot = "/run/berth-runtime"

// Options configure a Runtime.
type Options struct {
	Root          string       // state directory; DefaultRoot when empty
	SystemdCgroup bool         // --systemd-cgroup
	Logger        *slog.Logger // nil discards
}

// Runtime manages the containers whose state lives under one root.
type Runtime struct {
	root          string
	systemdCgroup bool
	log           *slog.Logger
}

// New returns a Runtime for opts.Root, creating the directory if needed.
func New(opts Options) (*Runtime, error) {
	trace("runtime.New")
	root := opts.Root
	if root == "" {
		root = DefaultRoot
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create runtime root %s: %w", abs, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Runtime{root: abs, systemdCgroup: opts.SystemdCgroup, log: log}, nil
}

// warn reports a failure that does not stop the operation (a poststart or
// poststop hook) to the log (the CLI's log is stderr unless --log is set).
func (r *Runtime) warn(msg, id string, err error) {
	r.log.Warn(msg, "id", id, "err", err)
}

// Root is the state directory.
func (r *Runtime) Root() string { return r.root }

func (r *Runtime) dir(id string) string { return filepath.Join(r.root, id) }

// Container is a handle on one container's persisted record.
type Container struct {
	rt  *Runtime
	dir string
	rec record
	cg  *cgroups.Manager // loaded from rec.Cgroup on first use
	// where is rec.Cgroup's paths alone, for what needs no Manager.
	where *cgroups.Where
	// exe is the init's write-protected executable, held by Create with
	// CreateOpts.HoldExe until ReleaseExe.
	exe io.Closer
	// start is the init's socket when it waits for Start there
	// (CreateOpts.StartOnSocket).
	start *initProc
}

// ReleaseExe drops the reference Create kept with CreateOpts.HoldExe, in
// the background: when it is the last one (the init has exec'd the
// container's process), closing it dissolves the detached overlay, which
// waits on the kernel's RCU machinery.
func (c *Container) ReleaseExe() {
	if c.exe != nil {
		go c.exe.Close()
		c.exe = nil
	}
}

// ID is the container's ID.
func (c *Container) ID() string { return c.rec.ID }

// Load finds the container id. It returns an error wrapping ErrNotExist when
// there is none.
func (r *Runtime) Load(id string) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	dir := r.dir(id)
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("container %s: %w", id, ErrNotExist)
		}
		return nil, fmt.Errorf("container %s: read state: %w", id, err)
	}
	c := &Container{rt: r, dir: dir}
	if err := decodeRecord(data, &c.rec); err != nil {
		return nil, fmt.Errorf("container %s: corrupt state.json: %w", id, err)
	}
	return c, nil
}

// List returns every container under the root, sorted by ID. Directories
// without a readable state.json (a create in progress, or garbage) are
// skipped.
func (r *Runtime) List() ([]*Container, error) {
	entries, err := os.ReadDir(r.root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := r.Load(e.Name())
		if err != nil {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rec.ID < out[j].rec.ID })
	return out, nil
}

func (c *Container) save() error {
	data, err := encodeRecord(&c.rec)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(c.dir, stateFile), data, 0o600)
}

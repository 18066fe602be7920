package volume

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/internal/atomicfile"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/mount"
)

// DriverName is the only driver berth has, docker's default.
const DriverName = "local"

// AnonymousLabel marks a volume made for a container without a name (-v
// /path, an image's VOLUME): docker 23+ sets it too, and prune removes only
// those unless told all.
const AnonymousLabel = "com.docker.volume.anonymous"

// validName is docker's rule for local volume names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Volume is one volume's record as it is kept in meta.json.
type Volume struct {
	Name      string
	Driver    string
	Labels    map[string]string
	Options   map[string]string
	CreatedAt time.Time
}

// Anonymous reports whether v was made without a name.
func (v *Volume) Anonymous() bool {
	_, ok := v.Labels[AnonymousLabel]
	return ok
}

// Store holds the volumes under one directory. Its methods are safe for
// concurrent use.
type Store struct {
	root string

	mu   sync.Mutex
	vols map[string]*Volume
	// refs are the containers that use a volume (from create to remove);
	// mounts the ones that have it mounted (from start to exit).
	refs   map[string]map[string]struct{}
	mounts map[string]map[string]struct{}
}

const metaFile = "meta.json"

// removingPrefix marks a volume directory being removed: Remove renames the
// directory first, so a crash in the middle leaves no half volume, and Open
// finishes the job.
const removingPrefix = ".removing-"

// Open loads the volumes under root, creating root (0701, as dockerd makes
// its volumes directory) if needed. A directory with _data but no record
// (made by hand, or by a crash between the two) is loaded as a volume with
// no labels or options.
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o701); err != nil {
		return nil, err
	}
	s := &Store{root: root, vols: map[string]*Volume{}, refs: map[string]map[string]struct{}{}, mounts: map[string]map[string]struct{}{}}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, removingPrefix) {
			_ = os.RemoveAll(filepath.Join(root, name))
			continue
		}
		if !e.IsDir() || !validName.MatchString(name) {
			continue
		}
		v := &Volume{Name: name, Driver: DriverName}
		if tmps, _ := filepath.Glob(filepath.Join(root, name, atomicfile.TempPrefix(metaFile)+"*")); len(tmps) > 0 {
			for _, t := range tmps {
				_ = os.Remove(t) // a write cut short by a crash
			}
		}
		b, err := os.ReadFile(filepath.Join(root, name, metaFile))
		switch {
		case err == nil:
			if err := json.Unmarshal(b, v); err != nil {
				return nil, fmt.Errorf("volume %s: %w", name, err)
			}
			v.Name = name
		case errors.Is(err, fs.ErrNotExist):
			if _, err := os.Stat(filepath.Join(root, name, "_data")); err != nil {
				continue
			}
			if st, err := os.Stat(filepath.Join(root, name)); err == nil {
				v.CreatedAt = st.ModTime()
			}
		default:
			return nil, fmt.Errorf("volume %s: %w", name, err)
		}
		s.vols[name] = v
	}
	return s, nil
}

// Root is the directory that holds the volumes.
func (s *Store) Root() string { return s.root }

// Path is where a volume's data lives (its Mountpoint).
func (s *Store) Path(name string) string { return filepath.Join(s.root, name, "_data") }

// ValidateName checks a name as docker's local driver does; the error is
// ErrInvalidParameter with docker's wording.
func ValidateName(name string) error {
	if len(name) == 1 && validName.MatchString(name+"x") {
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("create %s: volume name is too short, names should be at least two alphanumeric characters", name))
	}
	if !validName.MatchString(name) {
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name, name))
	}
	return nil
}

// ValidateOptions checks the local driver's options for the volume name:
// only type, device and o, and, when any is given, type and device, with
// dockerd 20.10's messages.
func ValidateOptions(name string, opts map[string]string) error {
	bad := func(msg string) error {
		return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("create %s: %s", name, msg))
	}
	for k := range opts {
		switch k {
		case "type", "device", "o":
		default:
			return bad(fmt.Sprintf("invalid option: %q", k))
		}
	}
	if len(opts) == 0 {
		return nil
	}
	if opts["device"] == "" {
		return bad(`missing required option: "device"`)
	}
	if opts["type"] == "" {
		return bad(`missing required option: "type"`)
	}
	return nil
}

// GenerateName returns a name for an anonymous volume: 64 hex digits.
func GenerateName() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// Create makes a volume, or returns the existing one of that name (as
// docker does; created reports which). An empty name gets a generated one.
// A bad name or option is ErrInvalidParameter; asking for another driver
// than local is ErrNotFound, as for a plugin that is not installed.
func (s *Store) Create(ctx context.Context, name, driver string, opts, labels map[string]string) (v Volume, created bool, err error) {
	return s.create(ctx, "", name, driver, opts, labels)
}

// CreateFor is Create that also records ref's use of the volume (as
// Acquire), in one step: a concurrent Remove or prune cannot take the
// volume between the two.
func (s *Store) CreateFor(ctx context.Context, ref, name, driver string, opts, labels map[string]string) (v Volume, created bool, err error) {
	return s.create(ctx, ref, name, driver, opts, labels)
}

func (s *Store) create(ctx context.Context, ref, name, driver string, opts, labels map[string]string) (v Volume, created bool, err error) {
	if name == "" {
		name = GenerateName()
	}
	if driver != "" && driver != DriverName {
		return Volume{}, false, errdefs.New(errdefs.ErrNotFound, fmt.Sprintf("create %s: error looking up volume plugin %s: plugin %q not found", name, driver, driver))
	}
	if err := ValidateName(name); err != nil {
		return Volume{}, false, err
	}
	if err := ValidateOptions(name, opts); err != nil {
		return Volume{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.vols[name]; ok {
		if ref != "" {
			add(s.refs, name, ref)
		}
		return copyVolume(old), false, nil
	}
	nv := &Volume{Name: name, Driver: DriverName, Labels: maps(labels), Options: maps(opts), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	dir := filepath.Join(s.root, name)
	if err := os.MkdirAll(filepath.Join(dir, "_data"), 0o755); err != nil {
		return Volume{}, false, fmt.Errorf("create %s: %w", name, err)
	}
	b, err := json.Marshal(nv)
	if err != nil {
		return Volume{}, false, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, metaFile), b, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return Volume{}, false, fmt.Errorf("create %s: %w", name, err)
	}
	_ = atomicfile.SyncDir(s.root)
	s.vols[name] = nv
	if ref != "" {
		add(s.refs, name, ref)
	}
	return copyVolume(nv), true, nil
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyVolume(v *Volume) Volume {
	c := *v
	c.Labels, c.Options = maps(v.Labels), maps(v.Options)
	return c
}

func notFound(name string) error {
	return errdefs.New(errdefs.ErrNotFound, fmt.Sprintf("get %s: no such volume", name))
}

// Get returns a volume by name; ErrNotFound when there is none.
func (s *Store) Get(name string) (Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vols[name]
	if !ok {
		return Volume{}, notFound(name)
	}
	return copyVolume(v), nil
}

// List returns every volume, by name.
func (s *Store) List() []Volume {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Volume, 0, len(s.vols))
	for _, v := range s.vols {
		out = append(out, copyVolume(v))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Acquire records that ref (a container ID) uses the volume; ErrNotFound
// when it does not exist.
func (s *Store) Acquire(name, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vols[name]; !ok {
		return notFound(name)
	}
	add(s.refs, name, ref)
	return nil
}

// Release forgets ref's use of the volume.
func (s *Store) Release(name, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	drop(s.refs, name, ref)
}

// Users returns the refs that use the volume, sorted.
func (s *Store) Users(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return keys(s.refs[name])
}

func add(m map[string]map[string]struct{}, name, ref string) {
	if m[name] == nil {
		m[name] = map[string]struct{}{}
	}
	m[name][ref] = struct{}{}
}

func drop(m map[string]map[string]struct{}, name, ref string) {
	delete(m[name], ref)
	if len(m[name]) == 0 {
		delete(m, name)
	}
}

func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Mount makes the volume ready for ref and returns its data path. A volume
// with a "type" option is mounted there (type, device, o as mount(8)
// takes them) by the first Mount; the others are plain directories.
func (s *Store) Mount(ctx context.Context, name, ref string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vols[name]
	if !ok {
		return "", notFound(name)
	}
	p := s.Path(name)
	if len(s.mounts[name]) == 0 && v.Options["type"] != "" {
		var o []string
		if v.Options["o"] != "" {
			o = strings.Split(v.Options["o"], ",")
		}
		m := mount.Mount{Type: v.Options["type"], Source: v.Options["device"], Options: o}
		if err := m.Mount(p); err != nil {
			return "", fmt.Errorf("error while mounting volume '%s': failed to mount local volume: mount %s:%s, data: %s: %w", p, m.Source, p, v.Options["o"], err)
		}
	}
	add(s.mounts, name, ref)
	return p, nil
}

// Unmount ends ref's mount; the last one unmounts a volume made from
// options.
func (s *Store) Unmount(ctx context.Context, name, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mounts[name][ref]; !ok {
		return nil
	}
	drop(s.mounts, name, ref)
	v, ok := s.vols[name]
	if ok && len(s.mounts[name]) == 0 && v.Options["type"] != "" {
		return mount.UnmountAll(s.Path(name))
	}
	return nil
}

// Reattach records that ref has the volume mounted already: a container
// that kept running while berthd restarted.
func (s *Store) Reattach(name, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vols[name]; ok {
		add(s.mounts, name, ref)
	}
}

// UnmountUnused unmounts the volumes made from options that no ref has
// mounted, as a crash may leave them; a volume not mounted is left alone.
func (s *Store) UnmountUnused(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, v := range s.vols {
		if v.Options["type"] != "" && len(s.mounts[name]) == 0 {
			_ = mount.UnmountAll(s.Path(name))
		}
	}
}

// Mounted reports how many refs have the volume mounted.
func (s *Store) Mounted(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mounts[name])
}

// Remove deletes a volume and its data. A volume in use is ErrConflict
// with docker's message (force does not change that, as with dockerd);
// a missing one is ErrNotFound unless force.
func (s *Store) Remove(ctx context.Context, name string, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vols[name]
	if !ok {
		if force {
			return nil
		}
		return notFound(name)
	}
	if users := keys(s.refs[name]); len(users) > 0 {
		return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("remove %s: volume is in use - [%s]", name, strings.Join(users, ", ")))
	}
	dir := filepath.Join(s.root, name)
	if v.Options["type"] != "" {
		// A mount left by a crash: removing the files under it would
		// remove a bound host directory's content.
		if err := mount.UnmountAll(filepath.Join(dir, "_data")); err != nil {
			return fmt.Errorf("remove %s: unmounting: %w", name, err)
		}
	}
	gone := filepath.Join(s.root, removingPrefix+name)
	if err := os.Rename(dir, gone); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	_ = atomicfile.SyncDir(s.root)
	delete(s.vols, name)
	delete(s.mounts, name)
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// Size is the disk usage of the volume's data in bytes (-1 when it cannot
// be read), for system df.
func (s *Store) Size(name string) int64 {
	var n int64
	err := filepath.WalkDir(s.Path(name), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return n
}

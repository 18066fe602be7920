package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/berth-engine/berth/internal/atomicfile"
)

// ConfigFile is the record's file name inside its directory, docker's own.
const ConfigFile = "config.v2.json"

// tempPrefix names the temporary files atomicfile leaves if a write is cut off.
var tempPrefix = atomicfile.TempPrefix(ConfigFile)

// Store holds every container record, keyed by ID and by name, and keeps
// each one in <root>/containers/<id>/config.v2.json.
type Store struct {
	dir string // <root>/containers

	mu     sync.RWMutex
	byID   map[string]*Container
	byName map[string]string // "/name" → ID

	changeMu sync.Mutex
	changed  chan struct{} // closed (and replaced) at each Save and Delete

	later sync.WaitGroup // SaveLater writes in flight
}

// Changed returns a channel that is closed at the next Save or Delete of
// any record, so that a waiter re-checks state on a change instead of
// polling. Take it before reading the state it waits on.
func (s *Store) Changed() <-chan struct{} {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

func (s *Store) notify() {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// LoadError names a container directory that could not be loaded; Open
// skips it and reports it so berthd can log it and go on.
type LoadError struct {
	Dir string
	Err error
}

func (e *LoadError) Error() string { return fmt.Sprintf("container %s: %v", e.Dir, e.Err) }
func (e *LoadError) Unwrap() error { return e.Err }

// Open loads every record under <root>/containers, creating the directory
// if needed. Leftover temp files from an interrupted Save are removed (the
// rename never happened, so the previous config.v2.json is intact), and a
// directory they leave empty (an interrupted Stage) too.
// Directories with no readable record are skipped and returned as
// LoadErrors; the error return is for the directory itself being unusable.
func Open(root string) (*Store, []*LoadError, error) {
	s := &Store{dir: filepath.Join(root, "containers"), byID: map[string]*Container{}, byName: map[string]string{}}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, nil, err
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, err
	}
	var bad []*LoadError
	for _, e := range ents {
		if !e.IsDir() || !validID.MatchString(e.Name()) {
			continue
		}
		cdir := filepath.Join(s.dir, e.Name())
		removeTemps(cdir)
		if ents, err := os.ReadDir(cdir); err == nil && len(ents) == 0 {
			// A create cut off after Stage, before its record was in
			// place: never answered, nothing to load.
			os.Remove(cdir)
			continue
		}
		c, err := readRecord(cdir)
		if err == nil && c.ID != e.Name() {
			err = fmt.Errorf("record has ID %q", c.ID)
		}
		if err == nil && s.byName[c.Name] != "" {
			err = fmt.Errorf("name %s is already used by %s", c.Name, s.byName[c.Name])
		}
		if err != nil {
			bad = append(bad, &LoadError{Dir: cdir, Err: err})
			continue
		}
		s.byID[c.ID] = c
		s.byName[c.Name] = c.ID
	}
	return s, bad, nil
}

func removeTemps(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func readRecord(dir string) (*Container, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	c := &Container{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	if c.Config == nil || c.HostConfig == nil {
		return nil, fmt.Errorf("%s: no Config or HostConfig", ConfigFile)
	}
	return c, nil
}

// Dir is the container's own directory (<root>/containers/<id>), where its
// log and other per-container files live.
func (s *Store) Dir(id string) string { return filepath.Join(s.dir, id) }

// Add registers a new record and saves it. A taken name is a conflict with
// docker's message; a taken ID is a conflict too.
func (s *Store) Add(c *Container) error {
	if !validID.MatchString(c.ID) {
		return invalid(fmt.Sprintf("invalid container ID %q", c.ID))
	}
	s.mu.Lock()
	if other, ok := s.byName[c.Name]; ok {
		s.mu.Unlock()
		return nameConflict(c.Name, other)
	}
	if _, ok := s.byID[c.ID]; ok {
		s.mu.Unlock()
		return conflict(fmt.Sprintf("container ID %s already exists", c.ID))
	}
	s.byID[c.ID] = c
	s.byName[c.Name] = c.ID
	s.mu.Unlock()
	c.Lock()
	err := s.Save(c)
	c.Unlock()
	if err != nil {
		s.mu.Lock()
		delete(s.byID, c.ID)
		delete(s.byName, c.Name)
		s.mu.Unlock()
		os.RemoveAll(s.Dir(c.ID))
	}
	return err
}

// Staged is a record written ahead of its AddStaged: on disk, synced,
// under a temporary name in the container's directory.
type Staged struct {
	tmp  string
	name string
	seq  uint64
}

// Stage writes c's record as it is now to a temporary file in its
// directory and syncs it, without registering c, so that the write can
// overlap other work (the layer's preparation) and AddStaged has only a
// rename and the directory's sync left. A crash before that leaves the
// temporary file, which Open removes with the directory it made. c is not
// in the store yet: no lock is needed.
func (s *Store) Stage(c *Container) (*Staged, error) {
	seq, data, err := s.snapshot(c)
	if err != nil {
		return nil, err
	}
	dir := s.Dir(c.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, tempPrefix)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		removeIfEmpty(dir)
		return nil, err
	}
	return &Staged{tmp: f.Name(), name: c.Name, seq: seq}, nil
}

// Discard removes a staged record that is not to be added, and its
// directory if nothing else is in it.
func (s *Store) Discard(st *Staged) {
	os.Remove(st.tmp)
	removeIfEmpty(filepath.Dir(st.tmp))
}

// AddStaged is Add for a record Stage wrote: registered (the same
// conflicts as Add), then put in place and the directory synced. It
// consumes st; a record whose name changed since it was staged is written
// anew.
func (s *Store) AddStaged(c *Container, st *Staged) error {
	if c.Name != st.name {
		s.Discard(st)
		return s.Add(c)
	}
	if !validID.MatchString(c.ID) {
		s.Discard(st)
		return invalid(fmt.Sprintf("invalid container ID %q", c.ID))
	}
	s.mu.Lock()
	if other, ok := s.byName[c.Name]; ok {
		s.mu.Unlock()
		s.Discard(st)
		return nameConflict(c.Name, other)
	}
	if _, ok := s.byID[c.ID]; ok {
		s.mu.Unlock()
		s.Discard(st)
		return conflict(fmt.Sprintf("container ID %s already exists", c.ID))
	}
	s.byID[c.ID] = c
	s.byName[c.Name] = c.ID
	s.mu.Unlock()
	dir := s.Dir(c.ID)
	c.writeMu.Lock()
	err := os.Rename(st.tmp, filepath.Join(dir, ConfigFile))
	if err == nil {
		c.written = st.seq
		err = atomicfile.SyncDir(dir)
	}
	c.writeMu.Unlock()
	s.notify()
	if err != nil {
		s.mu.Lock()
		delete(s.byID, c.ID)
		delete(s.byName, c.Name)
		s.mu.Unlock()
		os.RemoveAll(dir)
	}
	return err
}

func removeIfEmpty(dir string) {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) == 0 {
		os.Remove(dir)
	}
}

func nameConflict(name, id string) error {
	return conflict(fmt.Sprintf("Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.", name, id))
}

// NameTaken reports whether name ("/x") is in use; GenerateName uses it.
func (s *Store) NameTaken(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.byName[name]
	return ok
}

// Save writes the record atomically: a temp file in the container's
// directory, fsync, rename over config.v2.json, fsync of the directory.
// A crash at any point leaves either the old or the new record. The
// caller holds c's lock.
func (s *Store) Save(c *Container) error {
	seq, data, err := s.snapshot(c)
	// Waiters look at the record in memory, which the caller has already
	// changed: tell them whatever the write's fate.
	defer s.notify()
	if err != nil {
		return err
	}
	return s.write(c, seq, data, true)
}

// SaveLater is Save with the write in the background: the record is taken
// now, under the caller's lock on c, and written while the caller goes on;
// done (if not nil) gets the write's error. A Save or Delete of c made
// meanwhile supersedes it: it never overwrites newer data, nor brings back
// a deleted record. The directory is not synced after the rename (the file
// is, before it): a crash leaves the old record or the new one, whole, so
// it is only for a change a restart handles either way.
func (s *Store) SaveLater(c *Container, done func(error)) {
	seq, data, err := s.snapshot(c)
	s.notify()
	s.later.Add(1)
	go func() {
		defer s.later.Done()
		if err == nil {
			err = s.write(c, seq, data, false)
		}
		if done != nil {
			done(err)
		}
	}()
}

// Flush waits for the writes SaveLater started.
func (s *Store) Flush() { s.later.Wait() }

// snapshot marshals c and gives it the record's next write sequence. The
// caller holds c's lock.
func (s *Store) snapshot(c *Container) (uint64, []byte, error) {
	c.saveSeq++
	data, err := json.Marshal(c)
	return c.saveSeq, data, err
}

// write puts data, the record's version seq, on disk unless a newer
// version is there or the record was deleted; dirSync makes the rename
// durable too.
func (s *Store) write(c *Container, seq uint64, data []byte, dirSync bool) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.deleted.Load() || seq <= c.written {
		return nil
	}
	dir := s.Dir(c.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	write := atomicfile.WriteFile
	if !dirSync {
		write = writeNoDirSync
	}
	if err := write(filepath.Join(dir, ConfigFile), data, 0o600); err != nil {
		return err
	}
	c.written = seq
	return nil
}

// writeNoDirSync is atomicfile.WriteFile without the directory's fsync
// after the rename: a crash leaves the old file or the new one, whole.
func writeNoDirSync(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), tempPrefix)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Get finds a container by full ID, exact name (with or without "/"), or
// unique ID prefix, in docker's order. Errors: not found ("No such
// container: x"), or invalid parameter for an ambiguous prefix.
func (s *Store) Get(idOrName string) (*Container, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if idOrName == "" {
		return nil, notFound("No such container: ")
	}
	if c, ok := s.byID[idOrName]; ok {
		return c, nil
	}
	name := idOrName
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if id, ok := s.byName[name]; ok {
		return s.byID[id], nil
	}
	var found *Container
	for id, c := range s.byID {
		if strings.HasPrefix(id, idOrName) {
			if found != nil {
				return nil, invalid(fmt.Sprintf("multiple IDs found with provided prefix: %s", idOrName))
			}
			found = c
		}
	}
	if found == nil {
		return nil, notFound("No such container: " + idOrName)
	}
	return found, nil
}

// List returns every record, newest first (docker's ps order).
func (s *Store) List() []*Container {
	s.mu.RLock()
	out := make([]*Container, 0, len(s.byID))
	for _, c := range s.byID {
		out = append(out, c)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Rename gives c a new name (validated; conflict if taken) and saves it.
func (s *Store) Rename(c *Container, newName string) error {
	name, err := ValidateName(newName)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Lock()
	defer c.Unlock()
	if name == c.Name {
		return invalid("Renaming a container with the same name as its current name")
	}
	if other, ok := s.byName[name]; ok {
		return nameConflict(name, other)
	}
	old := c.Name
	c.Name = name
	if err := s.Save(c); err != nil {
		c.Name = old
		return err
	}
	delete(s.byName, old)
	s.byName[name] = c.ID
	return nil
}

// Delete forgets the record and removes its directory.
func (s *Store) Delete(id string) error {
	s.mu.Lock()
	c, ok := s.byID[id]
	if ok {
		delete(s.byID, id)
		delete(s.byName, c.Name)
	}
	s.mu.Unlock()
	if !ok {
		return notFound("No such container: " + id)
	}
	c.deleted.Store(true)
	s.notify()
	// After a write in progress; any later one finds the record deleted
	// and writes nothing.
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := os.RemoveAll(s.Dir(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Notify tells waiters (Changed) that a record changed in memory without
// writing it: for a change a Delete is about to supersede, where the
// record on disk, older, is one a restart handles.
func (s *Store) Notify() { s.notify() }

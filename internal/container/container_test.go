package container

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/storage"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func newTestContainer(t *testing.T, name string) *Container {
	t.Helper()
	n, err := ValidateName(name)
	if err != nil {
		t.Fatal(err)
	}
	return New(NewID(), n, &container.Config{Image: "busybox", Cmd: []string{"echo", "hi"}}, &container.HostConfig{}, t0)
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{64}$`)
	seen := map[string]bool{}
	for range 200 {
		id := NewID()
		if !re.MatchString(id) {
			t.Fatalf("bad id %q", id)
		}
		if strings.Trim(id[:12], "0123456789") == "" {
			t.Fatalf("all-digit short id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestValidateName(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "web", "/web", true},
		{"leading slash", "/web", "/web", true},
		{"dots dashes underscores", "a.b-c_d", "/a.b-c_d", true},
		{"single char", "a", "", false},
		{"empty", "", "", false},
		{"inner slash", "a/b", "", false},
		{"leading dash", "-ab", "", false},
		{"space", "a b", "", false},
		{"unicode", "caf\u00e9", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ValidateName(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ValidateName(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidParameter) || !strings.Contains(err.Error(), "Invalid container name") {
					t.Fatalf("error %v: want invalid parameter with docker's text", err)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStateMachine(t *testing.T) {
	type step struct {
		op      string
		class   error  // nil: success
		message string // substring of the error
		status  container.ContainerState
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"start stop start", []step{
			{op: "start", status: "running"},
			{op: "stop", status: "exited"},
			{op: "start", status: "running"},
		}},
		{"start twice", []step{
			{op: "start", status: "running"},
			{op: "canstart", class: ErrConflict, message: "already running"},
		}},
		{"pause unpause", []step{
			{op: "start"},
			{op: "pause", status: "paused"},
			{op: "pause", class: ErrConflict, message: "is already paused"},
			{op: "canstart", class: ErrConflict, message: "cannot start a paused container"},
			{op: "exec", class: ErrConflict, message: "is paused, unpause the container before exec"},
			{op: "unpause", status: "running"},
			{op: "unpause", class: ErrConflict, message: "is not paused"},
		}},
		{"pause created", []step{{op: "pause", class: ErrConflict, message: "is not running"}}},
		{"kill created", []step{{op: "kill", class: ErrConflict, message: "is not running"}}},
		{"remove running", []step{
			{op: "start"},
			{op: "remove", class: ErrConflict, message: `cannot remove container "/c1": container is running: stop the container before removing or force remove`},
			{op: "forceremove", status: "removing"},
			{op: "forceremove", class: ErrConflict, message: "already in progress"},
			{op: "canstart", class: ErrConflict, message: "marked for removal"},
			{op: "dead", status: "dead"},
		}},
		{"remove paused", []step{
			{op: "start"}, {op: "pause"},
			{op: "remove", class: ErrConflict, message: "container is paused"},
		}},
		{"restarting", []step{
			{op: "start"},
			{op: "restarting", status: "restarting"},
			{op: "pause", class: ErrConflict, message: "is restarting"},
			{op: "remove", class: ErrConflict, message: "container is restarting"},
			{op: "start", status: "running"},
		}},
		{"remove exited", []step{{op: "start"}, {op: "stop"}, {op: "remove", status: "removing"}, {op: "reset", status: "exited"}}},
		{"remove created", []step{{op: "remove", status: "removing"}, {op: "reset", status: "created"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestContainer(t, "c1")
			now := t0
			for i, s := range tc.steps {
				now = now.Add(time.Second)
				var err error
				switch s.op {
				case "start", "canstart":
					err = c.CanStart()
					if err == nil && s.op == "start" {
						c.SetRunning(100+i, now)
					}
				case "stop":
					c.SetStopped(3, false, now)
				case "pause":
					if err = c.CanPause(); err == nil {
						c.SetPaused()
					}
				case "unpause":
					if err = c.CanUnpause(); err == nil {
						c.SetUnpaused()
					}
				case "kill":
					err = c.CanKill()
				case "exec":
					err = c.CanExec()
				case "remove":
					err = c.SetRemoving(false)
				case "forceremove":
					err = c.SetRemoving(true)
				case "reset":
					c.ResetRemoving()
				case "dead":
					c.SetDead()
				case "restarting":
					c.SetRestarting(1, now)
				default:
					t.Fatalf("unknown op %s", s.op)
				}
				if s.class == nil && err != nil {
					t.Fatalf("step %d %s: %v", i, s.op, err)
				}
				if s.class != nil {
					if !errors.Is(err, s.class) || !strings.Contains(err.Error(), s.message) {
						t.Fatalf("step %d %s: err %v, want %v containing %q", i, s.op, err, s.class, s.message)
					}
				}
				if s.status != "" {
					if got := c.ToInspect(InspectOptions{}).State.Status; got != s.status {
						t.Fatalf("step %d %s: status %s, want %s", i, s.op, got, s.status)
					}
				}
			}
		})
	}
}

func TestInspectShape(t *testing.T) {
	c := newTestContainer(t, "web")
	c.HostConfig.Binds = []string{"/srv:/data:ro"}
	c.Image = "sha256:abc"
	c.SetRunning(42, t0.Add(time.Minute))
	gd := &storage.DriverData{Name: "overlay2", Data: map[string]string{"UpperDir": "/x/diff"}}
	data, err := json.Marshal(c.ToInspect(InspectOptions{GraphDriver: gd}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	st := m["State"].(map[string]any)
	checks := map[string]any{
		"Status": "running", "Running": true, "Pid": float64(42),
		"StartedAt": "2026-12-04T10:01:00Z", "FinishedAt": "0001-01-01T00:00:00Z",
	}
	for k, want := range checks {
		if st[k] != want {
			t.Errorf("State.%s = %v, want %v", k, st[k], want)
		}
	}
	if m["Id"] != c.ID || m["Name"] != "/web" || m["Path"] != "echo" || m["Created"] != "2026-12-04T10:00:00Z" {
		t.Errorf("identity fields wrong: %v %v %v %v", m["Id"], m["Name"], m["Path"], m["Created"])
	}
	if got := m["HostConfig"].(map[string]any)["LogConfig"].(map[string]any)["Type"]; got != "json-file" {
		t.Errorf("LogConfig.Type = %v", got)
	}
	if got := m["GraphDriver"].(map[string]any)["Name"]; got != "overlay2" {
		t.Errorf("GraphDriver.Name = %v", got)
	}
	mounts := m["Mounts"].([]any)
	if len(mounts) != 1 || mounts[0].(map[string]any)["RW"] != false || mounts[0].(map[string]any)["Type"] != "bind" {
		t.Errorf("Mounts = %v", mounts)
	}
	if _, ok := m["NetworkSettings"].(map[string]any)["Networks"].(map[string]any)["none"]; !ok {
		t.Errorf("NetworkSettings = %v", m["NetworkSettings"])
	}
	if c.HostConfig.LogConfig.Type != "" {
		t.Error("ToInspect changed the record's HostConfig")
	}
}

func TestStatusString(t *testing.T) {
	c := newTestContainer(t, "s1")
	now := t0.Add(time.Hour)
	if got := c.StatusString(now); got != "Created" {
		t.Errorf("created: %q", got)
	}
	c.SetRunning(1, t0)
	if got := c.StatusString(now); got != "Up About an hour" {
		t.Errorf("running: %q", got)
	}
	c.SetPaused()
	if got := c.StatusString(now); got != "Up About an hour (Paused)" {
		t.Errorf("paused: %q", got)
	}
	c.SetUnpaused()
	c.SetStopped(137, true, now.Add(-3*time.Second))
	if got := c.StatusString(now); got != "Exited (137) 3 seconds ago" {
		t.Errorf("exited: %q", got)
	}
	sum := c.ToSummary(now)
	if sum.State != "exited" || sum.Command != "echo hi" || sum.Names[0] != "/s1" || sum.HostConfig.NetworkMode != "none" {
		t.Errorf("summary: %+v", sum)
	}
}

func TestGenerateName(t *testing.T) {
	re := regexp.MustCompile(`^/[a-z]+_[a-z]+[0-9]?$`)
	taken := map[string]bool{}
	for range 300 {
		n := GenerateName(func(s string) bool { return taken[s] })
		if !re.MatchString(n) || taken[n] {
			t.Fatalf("bad or taken name %q", n)
		}
		if _, err := ValidateName(n); err != nil {
			t.Fatal(err)
		}
		taken[n] = true
	}
}

func TestStoreRoundTrip(t *testing.T) {
	root := t.TempDir()
	s, bad, err := Open(root)
	if err != nil || len(bad) != 0 {
		t.Fatal(err, bad)
	}
	a := newTestContainer(t, "alpha")
	b := newTestContainer(t, "beta")
	a.ID = "ab" + strings.Repeat("1", 62)
	b.ID = "ab" + strings.Repeat("2", 62)
	for _, c := range []*Container{a, b} {
		if err := s.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	dup := newTestContainer(t, "alpha")
	if err := s.Add(dup); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `The container name "/alpha" is already in use`) {
		t.Fatalf("duplicate name: %v", err)
	}
	a.Lock()
	a.SetRunning(7, t0)
	a.HostConfig.Memory = 1 << 30
	if err := s.Save(a); err != nil {
		t.Fatal(err)
	}
	a.Unlock()
	if err := s.Rename(b, "gamma"); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(b, "alpha"); !errors.Is(err, ErrConflict) {
		t.Fatalf("rename onto taken name: %v", err)
	}

	s2, bad, err := Open(root)
	if err != nil || len(bad) != 0 {
		t.Fatal(err, bad)
	}
	lookups := []struct {
		name, key, wantID string
		class             error
	}{
		{"full id", a.ID, a.ID, nil},
		{"name", "alpha", a.ID, nil},
		{"slash name", "/gamma", b.ID, nil},
		{"old name gone", "beta", "", ErrNotFound},
		{"unique prefix", "ab2", b.ID, nil},
		{"ambiguous prefix", "ab", "", ErrInvalidParameter},
		{"missing", "nope", "", ErrNotFound},
		{"empty", "", "", ErrNotFound},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			c, err := s2.Get(l.key)
			if l.class != nil {
				if !errors.Is(err, l.class) {
					t.Fatalf("Get(%q) = %v, want %v", l.key, err, l.class)
				}
				return
			}
			if err != nil || c.ID != l.wantID {
				t.Fatalf("Get(%q) = %v, %v", l.key, c, err)
			}
		})
	}
	got, _ := s2.Get(a.ID)
	if !got.State.Running || got.State.Pid != 7 || got.HostConfig.Memory != 1<<30 || !got.State.StartedAt.Equal(t0) {
		t.Fatalf("reloaded record differs: %+v", got.State)
	}
	if err := s2.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s2.Dir(a.ID)); !os.IsNotExist(err) {
		t.Fatalf("directory left behind: %v", err)
	}
	if len(s2.List()) != 1 {
		t.Fatalf("List after delete: %d", len(s2.List()))
	}
}

// TestStoreTornWrite leaves what a crash can leave: a half-written temp
// file beside a good record, a directory holding only a temp file, and a
// record cut short by something other than Save. Open keeps the good
// records, removes temp files and reports the unreadable directory.
func TestStoreTornWrite(t *testing.T) {
	root := t.TempDir()
	s, _, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	good := newTestContainer(t, "good")
	if err := s.Add(good); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(filepath.Join(s.Dir(good.ID), ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	half := full[:len(full)/2]
	tmp := filepath.Join(s.Dir(good.ID), tempPrefix+"123")
	if err := os.WriteFile(tmp, half, 0o600); err != nil {
		t.Fatal(err)
	}
	onlyTmp := filepath.Join(root, "containers", NewID())
	os.MkdirAll(onlyTmp, 0o700)
	os.WriteFile(filepath.Join(onlyTmp, tempPrefix+"9"), half, 0o600)
	torn := filepath.Join(root, "containers", NewID())
	os.MkdirAll(torn, 0o700)
	os.WriteFile(filepath.Join(torn, ConfigFile), half, 0o600)
	os.WriteFile(filepath.Join(root, "containers", "not-a-container"), []byte("x"), 0o600)

	s2, bad, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Get(good.ID); err != nil {
		t.Fatalf("good record lost: %v", err)
	}
	// The torn record is reported; the directory with nothing but a temp
	// file (a first write cut off: a create never answered) is removed.
	if len(s2.List()) != 1 || len(bad) != 1 || bad[0].Dir != torn {
		t.Fatalf("List = %d records, bad = %v", len(s2.List()), bad)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("temp file not cleaned up")
	}
	if _, err := os.Stat(onlyTmp); !os.IsNotExist(err) {
		t.Fatal("directory of a cut-off first write not removed")
	}
}

// Changed wakes waiters at the next Save and at a Delete, and only then.
func TestStoreChanged(t *testing.T) {
	s, _, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := newTestContainer(t, "gamma")
	if err := s.Add(c); err != nil {
		t.Fatal(err)
	}
	ch := s.Changed()
	select {
	case <-ch:
		t.Fatal("closed before any change")
	default:
	}
	c.Lock()
	c.SetRunning(9, t0)
	err = s.Save(c)
	c.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Save did not signal")
	}
	ch = s.Changed()
	if err := s.Delete(c.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Delete did not signal")
	}
}

// SaveLater's background write never overwrites a newer Save, nor brings
// back a record Delete removed; Flush waits for it.
func TestStoreSaveLater(t *testing.T) {
	root := t.TempDir()
	s, _, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestContainer(t, "delta")
	if err := s.Add(c); err != nil {
		t.Fatal(err)
	}
	read := func() *Container {
		t.Helper()
		got, err := readRecord(s.Dir(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	ch := s.Changed()
	c.Lock()
	c.SetRunning(11, t0)
	errs := make(chan error, 1)
	s.SaveLater(c, func(err error) { errs <- err })
	c.Unlock()
	select {
	case <-ch:
	default:
		t.Fatal("SaveLater did not signal at once")
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if got := read(); !got.State.Running || got.State.Pid != 11 {
		t.Fatalf("after SaveLater: %+v", got.State)
	}

	// Many background writes racing newer synchronous ones: the newest
	// version is what stays on disk.
	for i := range 20 {
		c.Lock()
		c.State.Pid = 100 + 2*i
		s.SaveLater(c, nil)
		c.State.Pid = 101 + 2*i
		err := s.Save(c)
		c.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Flush()
	if got := read(); got.State.Pid != 139 {
		t.Fatalf("pid on disk %d, want the last Save's 139", got.State.Pid)
	}

	// A write still to come when the record is deleted writes nothing.
	c.Lock()
	c.State.Pid = 200
	s.SaveLater(c, nil)
	c.Unlock()
	if err := s.Delete(c.ID); err != nil {
		t.Fatal(err)
	}
	s.Flush()
	if _, err := os.Stat(s.Dir(c.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted record's directory: %v", err)
	}
	c.Lock()
	err = s.Save(c)
	c.Unlock()
	if err != nil {
		t.Fatalf("Save of a deleted record: %v", err)
	}
	if _, err := os.Stat(s.Dir(c.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a Save after Delete brought the directory back: %v", err)
	}
}

// Stage writes a record ahead of its AddStaged; a crash in between (no
// AddStaged) leaves nothing Open reports; Discard and conflicts leave no
// temporary file.
func TestStoreStage(t *testing.T) {
	root := t.TempDir()
	s, _, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	entries := func(id string) []string {
		t.Helper()
		ents, _ := os.ReadDir(s.Dir(id))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}

	a := newTestContainer(t, "staged")
	st, err := s.Stage(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(a.ID); err == nil {
		t.Fatal("a staged record is registered before AddStaged")
	}
	ch := s.Changed()
	if err := s.AddStaged(a, st); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("AddStaged did not signal")
	}
	if got := entries(a.ID); len(got) != 1 || got[0] != ConfigFile {
		t.Fatalf("after AddStaged: %v", got)
	}
	if got, err := readRecord(s.Dir(a.ID)); err != nil || got.Name != a.Name {
		t.Fatalf("record on disk: %+v, %v", got, err)
	}
	// A later Save supersedes it as usual.
	a.Lock()
	a.SetRunning(5, t0)
	err = s.Save(a)
	a.Unlock()
	if err != nil {
		t.Fatal(err)
	}

	// The name changed after staging (a generated name taken meanwhile):
	// written anew.
	b := newTestContainer(t, "before")
	st, err = s.Stage(b)
	if err != nil {
		t.Fatal(err)
	}
	b.Name = "/after"
	if err := s.AddStaged(b, st); err != nil {
		t.Fatal(err)
	}
	if got, err := readRecord(s.Dir(b.ID)); err != nil || got.Name != "/after" {
		t.Fatalf("renamed before AddStaged: %+v, %v", got, err)
	}
	if got := entries(b.ID); len(got) != 1 {
		t.Fatalf("files left: %v", got)
	}

	// A taken name: a conflict, and the staged file is gone.
	c := newTestContainer(t, "staged")
	st, err = s.Stage(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddStaged(c, st); !errors.Is(err, ErrConflict) {
		t.Fatalf("AddStaged with a taken name: %v", err)
	}
	if got := entries(c.ID); len(got) != 0 {
		t.Fatalf("files left after the conflict: %v", got)
	}

	// Discarded: nothing left.
	d := newTestContainer(t, "discarded")
	if st, err = s.Stage(d); err != nil {
		t.Fatal(err)
	}
	s.Discard(st)
	if _, err := os.Stat(s.Dir(d.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("discarded record's directory: %v", err)
	}

	// Cut off after Stage: the next Open removes it quietly and loads
	// the others.
	e := newTestContainer(t, "cutoff")
	if _, err := s.Stage(e); err != nil {
		t.Fatal(err)
	}
	s2, bad, err := Open(root)
	if err != nil || len(bad) != 0 {
		t.Fatalf("open after a cut-off stage: %v, %v", err, bad)
	}
	if _, err := os.Stat(s2.Dir(e.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cut-off stage's directory: %v", err)
	}
	for _, id := range []string{a.ID, b.ID} {
		if _, err := s2.Get(id); err != nil {
			t.Fatalf("record %s not loaded: %v", id, err)
		}
	}
}

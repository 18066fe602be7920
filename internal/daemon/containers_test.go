package daemon

import (
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/image"
	"github.com/berth-engine/berth/internal/snapshot"
)

func TestMergeImageConfig(t *testing.T) {
	cases := []struct {
		name                string
		cfg                 ctypes.Config
		wantCmd, wantEntry  []string
		wantEnv             []string
		wantUser, wantLabel string
	}{
		{"image defaults", ctypes.Config{}, []string{"sh"}, []string{"/init"}, []string{"PATH=/bin", "A=1"}, "daemon", "img"},
		{"cmd given", ctypes.Config{Cmd: []string{"true"}}, []string{"true"}, []string{"/init"}, []string{"PATH=/bin", "A=1"}, "daemon", "img"},
		{"entrypoint given drops image cmd", ctypes.Config{Entrypoint: []string{"echo"}}, nil, []string{"echo"}, []string{"PATH=/bin", "A=1"}, "daemon", "img"},
		{"env and user and label override", ctypes.Config{Env: []string{"A=2", "B=3"}, User: "root", Labels: map[string]string{"l": "mine"}},
			[]string{"sh"}, []string{"/init"}, []string{"PATH=/bin", "A=2", "B=3"}, "root", "mine"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			mergeImageConfig(&cfg, []string{"PATH=/bin", "A=1"}, []string{"sh"}, []string{"/init"}, "/w", "daemon", "SIGQUIT", map[string]string{"l": "img"})
			if !slices.Equal(cfg.Cmd, c.wantCmd) || !slices.Equal(cfg.Entrypoint, c.wantEntry) || !slices.Equal(cfg.Env, c.wantEnv) ||
				cfg.User != c.wantUser || cfg.Labels["l"] != c.wantLabel || cfg.WorkingDir != "/w" || cfg.StopSignal != "SIGQUIT" {
				t.Fatalf("merged: %+v", cfg)
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	cases := []struct {
		in   string
		want syscall.Signal
		ok   bool
	}{
		{"SIGTERM", syscall.SIGTERM, true},
		{"term", syscall.SIGTERM, true},
		{"KILL", syscall.SIGKILL, true},
		{"9", syscall.SIGKILL, true},
		{"0", 0, false},
		{"65", 0, false},
		{"SIGNOPE", 0, false},
	}
	for _, c := range cases {
		got, err := ParseSignal(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSignal(%q) = %v, %v", c.in, got, err)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalidParameter) {
			t.Errorf("ParseSignal(%q): error not invalid-parameter: %v", c.in, err)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"container not found", container.Classed(container.ErrNotFound, "No such container: x"), errdefs.ErrNotFound},
		{"container conflict", container.Classed(container.ErrConflict, "busy"), errdefs.ErrConflict},
		{"container invalid", container.Classed(container.ErrInvalidParameter, "bad"), errdefs.ErrInvalidParameter},
		{"image not found", image.ErrNotFound, errdefs.ErrNotFound},
		{"snapshot not found", snapshot.ErrNotFound, errdefs.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := classify(c.err)
			if !errors.Is(got, c.want) || !errors.Is(got, c.err) || got.Error() != c.err.Error() {
				t.Fatalf("classify(%v) = %v", c.err, got)
			}
		})
	}
	if classify(nil) != nil {
		t.Fatal("classify(nil) != nil")
	}
}

func TestMatchFilters(t *testing.T) {
	s := ctypes.Summary{ID: "abcdef", Names: []string{"/web-1"}, Image: "busybox", ImageID: "sha256:1234",
		State: ctypes.StateExited, Labels: map[string]string{"tier": "front"}}
	cases := []struct {
		name string
		f    map[string][]string
		want bool
	}{
		{"none", nil, true},
		{"name substring", map[string][]string{"name": {"web"}}, true},
		{"name miss", map[string][]string{"name": {"db"}}, false},
		{"id prefix", map[string][]string{"id": {"abc"}}, true},
		{"status", map[string][]string{"status": {"running", "exited"}}, true},
		{"status miss", map[string][]string{"status": {"running"}}, false},
		{"label key", map[string][]string{"label": {"tier"}}, true},
		{"label value miss", map[string][]string{"label": {"tier=back"}}, false},
		{"ancestor", map[string][]string{"ancestor": {"busybox"}}, true},
		{"exited code", map[string][]string{"exited": {"3"}}, true},
		{"exited code miss", map[string][]string{"exited": {"0"}}, false},
	}
	for _, c := range cases {
		if got := matchFilters(c.f, s, 3); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func TestValidateRestartPolicy(t *testing.T) {
	cases := []struct {
		name string
		hc   ctypes.HostConfig
		ok   bool
	}{
		{"none", ctypes.HostConfig{}, true},
		{"always", ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "always"}}, true},
		{"on-failure max", ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}}, true},
		{"unknown", ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "sometimes"}}, false},
		{"negative max", ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "on-failure", MaximumRetryCount: -1}}, false},
		{"max without on-failure", ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "always", MaximumRetryCount: 2}}, false},
		{"auto-remove", ctypes.HostConfig{AutoRemove: true, RestartPolicy: ctypes.RestartPolicy{Name: "always"}}, false},
	}
	for _, c := range cases {
		err := validateRestartPolicy(&c.hc)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, errdefs.ErrInvalidParameter) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestRestartDelay(t *testing.T) {
	cases := []struct {
		restarts int
		ran      time.Duration
		want     time.Duration
	}{
		{1, 0, 100 * time.Millisecond},
		{2, 0, 200 * time.Millisecond},
		{4, time.Second, 800 * time.Millisecond},
		{5, 10 * time.Second, 100 * time.Millisecond},
		{30, 0, time.Minute},
	}
	for _, c := range cases {
		if got := restartDelay(c.restarts, c.ran); got != c.want {
			t.Errorf("restartDelay(%d, %v) = %v, want %v", c.restarts, c.ran, got, c.want)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	mk := func(name ctypes.RestartPolicyMode, max, count int, manual bool) *container.Container {
		c := container.New(container.NewID(), "/x", &ctypes.Config{}, &ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: name, MaximumRetryCount: max}}, time.Now())
		c.RestartCount = count
		c.HasBeenManuallyStopped = manual
		return c
	}
	cases := []struct {
		name string
		c    *container.Container
		code int
		want bool
	}{
		{"no", mk("no", 0, 0, false), 1, false},
		{"always clean exit", mk("always", 0, 0, false), 0, true},
		{"always manual stop", mk("always", 0, 0, true), 137, false},
		{"unless-stopped", mk("unless-stopped", 0, 5, false), 0, true},
		{"on-failure success", mk("on-failure", 0, 0, false), 0, false},
		{"on-failure under max", mk("on-failure", 2, 1, false), 3, true},
		{"on-failure at max", mk("on-failure", 2, 2, false), 3, false},
		{"on-failure unlimited", mk("on-failure", 0, 50, false), 3, true},
	}
	for _, c := range cases {
		if got := shouldRestart(c.c, c.code); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

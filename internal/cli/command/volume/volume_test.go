package volume

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	voltypes "github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

func execute(t *testing.T, fake *clitest.FakeClient, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cli := command.NewCli(&out, &errb, func(string) string { return "" })
	cli.In = strings.NewReader(stdin)
	cli.NewClient = func(string) (command.APIClient, error) { return fake, nil }
	cmd := NewVolumeCommand(cli)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

var sample = []voltypes.Volume{
	{Name: "web-data", Driver: "local", Scope: "local", Mountpoint: "/var/lib/berth/volumes/web-data/_data", Labels: map[string]string{"app": "web", "tier": "front"}, CreatedAt: "2026-12-04T18:00:00Z"},
	{Name: "3f1c0a7e9b2d4c5a6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5", Driver: "local", Scope: "local", Mountpoint: "/var/lib/berth/volumes/3f1c0a7e9b2d4c5a6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5/_data", Labels: map[string]string{"com.docker.volume.anonymous": ""}},
	{Name: "cache", Driver: "local", Scope: "local", Mountpoint: "/var/lib/berth/volumes/cache/_data", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}},
}

func TestList(t *testing.T) {
	var got client.VolumeListOptions
	fake := &clitest.FakeClient{VolumeListFunc: func(o client.VolumeListOptions) (client.VolumeListResult, error) {
		got = o
		return client.VolumeListResult{Items: append([]voltypes.Volume(nil), sample...)}, nil
	}}
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"ls.golden", []string{"ls"}},
		{"ls-q.golden", []string{"ls", "-q"}},
		{"ls-json.golden", []string{"ls", "--format", "json"}},
		{"ls-template.golden", []string{"ls", "--format", "table {{.Name}}\t{{.Scope}}\t{{.Labels}}\t{{.Links}}\t{{.Size}}"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, _, err := execute(t, fake, "", tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, tc.golden, out)
		})
	}
	if _, _, err := execute(t, fake, "", "ls", "-f", "dangling=true", "--filter", "label=app"); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got.Filters)
	if string(b) != `{"dangling":{"true":true},"label":{"app":true}}` {
		t.Fatalf("filters sent: %s", b)
	}
}

func TestCreate(t *testing.T) {
	var got client.VolumeCreateOptions
	fake := &clitest.FakeClient{VolumeCreateFunc: func(o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
		got = o
		name := o.Name
		if name == "" {
			name = "generated"
		}
		return client.VolumeCreateResult{Volume: voltypes.Volume{Name: name}}, nil
	}}
	out, _, err := execute(t, fake, "", "create", "-o", "type=tmpfs", "--opt", "o=size=1m,uid=1000", "--label", "a=b", "--label", "bare", "data")
	if err != nil || out != "data\n" {
		t.Fatalf("out %q err %v", out, err)
	}
	if got.Driver != "local" || got.DriverOpts["o"] != "size=1m,uid=1000" || got.DriverOpts["type"] != "tmpfs" || got.Labels["a"] != "b" || got.Labels["bare"] != "" {
		t.Fatalf("request %+v", got)
	}
	if out, _, err := execute(t, fake, "", "create"); err != nil || out != "generated\n" {
		t.Fatalf("unnamed: %q %v", out, err)
	}
	if _, _, err := execute(t, fake, "", "create", "-o", "novalue"); err == nil || !strings.Contains(err.Error(), "bad format novalue") {
		t.Fatalf("bad opt: %v", err)
	}
	if _, _, err := execute(t, fake, "", "create", "a", "b"); err == nil {
		t.Fatal("two names accepted")
	}
}

func TestInspectAndRemove(t *testing.T) {
	fake := &clitest.FakeClient{
		VolumeInspectFunc: func(name string) (client.VolumeInspectResult, error) {
			for _, v := range sample {
				if v.Name == name {
					raw, _ := json.Marshal(v)
					return client.VolumeInspectResult{Volume: v, Raw: raw}, nil
				}
			}
			return client.VolumeInspectResult{}, errors.New("Error response from daemon: get " + name + ": no such volume")
		},
		VolumeRemoveFunc: func(name string, o client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
			if name == "busy" {
				return client.VolumeRemoveResult{}, errors.New("Error response from daemon: remove busy: volume is in use - [abc]")
			}
			return client.VolumeRemoveResult{}, nil
		},
	}
	out, _, err := execute(t, fake, "", "inspect", "web-data", "cache")
	if err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "inspect.golden", out)
	out, _, err = execute(t, fake, "", "inspect", "-f", "{{.Name}} {{.Mountpoint}} {{index .Labels \"app\"}}", "web-data", "nope")
	var se command.StatusError
	if out != "web-data /var/lib/berth/volumes/web-data/_data web\n" || !errors.As(err, &se) || se.StatusCode != 1 || !strings.Contains(se.Status, "no such volume") {
		t.Fatalf("inspect -f: %q %v", out, err)
	}
	out, _, err = execute(t, fake, "", "rm", "a", "busy", "b")
	if out != "a\nb\n" || !errors.As(err, &se) || se.StatusCode != 1 || se.Status != "Error response from daemon: remove busy: volume is in use - [abc]" {
		t.Fatalf("rm: %q %v", out, err)
	}
}

func TestPrune(t *testing.T) {
	var got client.VolumePruneOptions
	fake := &clitest.FakeClient{VolumePruneFunc: func(o client.VolumePruneOptions) (client.VolumePruneResult, error) {
		got = o
		return client.VolumePruneResult{Report: voltypes.PruneReport{VolumesDeleted: []string{"old", "older"}, SpaceReclaimed: 2048}}, nil
	}}
	out, _, err := execute(t, fake, "y\n", "prune")
	if err != nil || got.All {
		t.Fatalf("prune: %v %+v", err, got)
	}
	clitest.Golden(t, "prune.golden", out)
	out, _, err = execute(t, fake, "", "prune", "-a", "-f", "--filter", "label=x")
	if err != nil || !got.All || !strings.HasPrefix(out, "Deleted Volumes:\n") {
		t.Fatalf("prune -a: %q %v %+v", out, err, got)
	}
	if b, _ := json.Marshal(got.Filters); string(b) != `{"label":{"x":true}}` {
		t.Fatalf("prune filters %s", b)
	}
	out, _, err = execute(t, fake, "n\n", "prune", "-a")
	var se command.StatusError
	if !errors.As(err, &se) || se.Status != "Error: volume prune has been cancelled" || !strings.HasPrefix(out, "WARNING! This will remove all local volumes not used by at least one container.\n") {
		t.Fatalf("cancelled prune: %q %v", out, err)
	}
}

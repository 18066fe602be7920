package system

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

// eventsFake streams msgs and then ends as a past --until does (EOF).
func eventsFake(msgs []events.Message, got *client.EventsListOptions) *clitest.FakeClient {
	return &clitest.FakeClient{EventsFunc: func(o client.EventsListOptions) client.EventsResult {
		*got = o
		ch, errs := make(chan events.Message), make(chan error, 1)
		go func() {
			for _, m := range msgs {
				ch <- m
			}
			errs <- io.EOF
		}()
		return client.EventsResult{Messages: ch, Err: errs}
	}}
}

func TestEventsFormats(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 5, time.UTC)
	msgs := []events.Message{
		{Type: "container", Action: "die", Actor: events.Actor{ID: "abc", Attributes: map[string]string{"name": "web", "exitCode": "3", "image": "busybox"}}, Scope: "local", Time: at.Unix(), TimeNano: at.UnixNano()},
		{Type: "image", Action: "tag", Actor: events.Actor{ID: "sha256:aa", Attributes: map[string]string{"name": "busybox:latest"}}, Scope: "local", Time: at.Unix(), TimeNano: at.UnixNano()},
	}
	loc := time.Local
	time.Local = time.UTC
	defer func() { time.Local = loc }()
	for _, tc := range []struct {
		format, want string
	}{
		{"", "2026-12-04T10:00:00.000000005Z container die abc (exitCode=3, image=busybox, name=web)\n" +
			"2026-12-04T10:00:00.000000005Z image tag sha256:aa (name=busybox:latest)\n"},
		{"{{.Type}} {{.Status}} {{.ID}} {{.From}} {{.Actor.Attributes.name}}", "container die abc busybox web\nimage tag sha256:aa  busybox:latest\n"},
		{"json", `{"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"3","image":"busybox","name":"web"}},"scope":"local","time":1796378400,"timeNano":1796378400000000005}` + "\n" +
			`{"status":"tag","id":"sha256:aa","Type":"image","Action":"tag","Actor":{"ID":"sha256:aa","Attributes":{"name":"busybox:latest"}},"scope":"local","time":1796378400,"timeNano":1796378400000000005}` + "\n"},
	} {
		var opts client.EventsListOptions
		cli, out, _ := newCli(eventsFake(msgs, &opts))
		filter := command.NewFilterOpt()
		filter.Set("type=container")
		if err := runEvents(context.Background(), cli, eventsOptions{since: "10m", until: "0s", filter: filter, format: tc.format}); err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if out.String() != tc.want {
			t.Errorf("format %q:\n got %q\nwant %q", tc.format, out.String(), tc.want)
		}
		if opts.Since != "10m" || opts.Until != "0s" || !opts.Filters["type"]["container"] {
			t.Errorf("options sent: %+v", opts)
		}
	}
	cli, _, _ := newCli(eventsFake(nil, new(client.EventsListOptions)))
	if err := runEvents(context.Background(), cli, eventsOptions{filter: command.NewFilterOpt(), format: "{{.Nope"}); err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Errorf("bad template: %v", err)
	}
}

func dfFake() *clitest.FakeClient {
	return &clitest.FakeClient{DiskUsageFunc: func(o client.DiskUsageOptions) (client.DiskUsageResult, error) {
		return client.DiskUsageResult{
			Images: client.ImagesDiskUsage{TotalCount: 2, ActiveCount: 1, TotalSize: 4_000_000, Reclaimable: 1_000_000, Items: []image.Summary{
				{ID: "sha256:0123456789abcdef", RepoTags: []string{"busybox:latest"}, Size: 3_000_000, Containers: 1, Created: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC).Unix()},
			}},
			Containers: client.ContainersDiskUsage{TotalCount: 2, ActiveCount: 1, TotalSize: 5000, Reclaimable: 5000, Items: []container.Summary{
				{ID: "fedcba9876543210", Names: []string{"/web"}, Image: "busybox", Command: "sleep 100", SizeRw: 5000, SizeRootFs: 3_005_000, Created: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC).Unix(), Status: "Up 1 hour", State: "running",
					Mounts: []container.MountPoint{{Type: "volume", Name: "web-data", Driver: "local", Destination: "/data"}}},
			}},
			Volumes: client.VolumesDiskUsage{TotalCount: 2, ActiveCount: 1, TotalSize: 12_000, Reclaimable: 2_000, Items: []volume.Volume{
				{Name: "web-data", Driver: "local", UsageData: &volume.UsageData{RefCount: 1, Size: 10_000}},
				{Name: "old", Driver: "local", UsageData: &volume.UsageData{RefCount: 0, Size: 2_000}},
			}},
		}, nil
	}}
}

func TestDf(t *testing.T) {
	cli, out, _ := newCli(dfFake())
	if err := runDf(context.Background(), cli, dfOptions{}); err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "df.golden", out.String())
	out.Reset()
	if err := runDf(context.Background(), cli, dfOptions{format: "json"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), `{"Active":"1","Reclaimable":"1MB (25%)","Size":"4MB","TotalCount":"2","Type":"Images"}`+"\n") {
		t.Errorf("df json: %s", out)
	}
	cli, out, _ = newCli(dfFake())
	cli.Clock = func() time.Time { return time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) }
	if err := runDf(context.Background(), cli, dfOptions{verbose: true}); err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "df-v.golden", out.String())
}

func TestSystemPrune(t *testing.T) {
	var sentImages client.Filters
	fake := &clitest.FakeClient{
		ContainerPruneFunc: func(o client.ContainerPruneOptions) (client.ContainerPruneResult, error) {
			return client.ContainerPruneResult{Report: container.PruneReport{ContainersDeleted: []string{"c1"}}}, nil
		},
		ImagePruneFunc: func(o client.ImagePruneOptions) (client.ImagePruneResult, error) {
			sentImages = o.Filters
			return client.ImagePruneResult{Report: image.PruneReport{ImagesDeleted: []image.DeleteResponse{{Untagged: "busybox:latest"}, {Deleted: "sha256:aa"}}, SpaceReclaimed: 2_000_000}}, nil
		},
	}
	cli, out, _ := newCli(fake)
	filter := command.NewFilterOpt()
	filter.Set("until=24h")
	if err := runPrune(context.Background(), cli, pruneOptions{all: true, force: true, filter: filter}); err != nil {
		t.Fatal(err)
	}
	want := "Deleted Containers:\nc1\n\nDeleted Images:\nuntagged: busybox:latest\ndeleted: sha256:aa\n\nTotal reclaimed space: 2MB\n"
	if out.String() != want {
		t.Errorf("prune:\n%s\nwant:\n%s", out, want)
	}
	if !sentImages["dangling"]["false"] || !sentImages["until"]["24h"] {
		t.Errorf("image prune filters: %v", sentImages)
	}
	cli, out, _ = newCli(fake)
	cli.In = strings.NewReader("n\n")
	err := runPrune(context.Background(), cli, pruneOptions{filter: command.NewFilterOpt()})
	if se, ok := err.(command.StatusError); !ok || se.Status != "Error: system prune has been cancelled" {
		t.Errorf("declined prune: %v", err)
	}
	if !strings.HasPrefix(out.String(), "WARNING! This will remove:\n  - all stopped containers\n  - all dangling images\n\nAre you sure you want to continue? [y/N] ") {
		t.Errorf("prompt: %q", out)
	}
	// --volumes: anonymous volumes, label filters only, even with -a.
	var sentVolumes client.VolumePruneOptions
	fake.VolumePruneFunc = func(o client.VolumePruneOptions) (client.VolumePruneResult, error) {
		sentVolumes = o
		return client.VolumePruneResult{Report: volume.PruneReport{VolumesDeleted: []string{"anon1"}, SpaceReclaimed: 1000}}, nil
	}
	cli, out, _ = newCli(fake)
	withLabel := command.NewFilterOpt()
	withLabel.Set("until=24h")
	withLabel.Set("label=tmp")
	if err := runPrune(context.Background(), cli, pruneOptions{all: true, force: true, volumes: true, filter: withLabel}); err != nil {
		t.Fatal(err)
	}
	want = "Deleted Containers:\nc1\n\nDeleted Volumes:\nanon1\n\nDeleted Images:\nuntagged: busybox:latest\ndeleted: sha256:aa\n\nTotal reclaimed space: 2.001MB\n"
	if out.String() != want {
		t.Errorf("prune --volumes:\n%s\nwant:\n%s", out, want)
	}
	if sentVolumes.All || len(sentVolumes.Filters) != 1 || !sentVolumes.Filters["label"]["tmp"] {
		t.Errorf("volume prune options: %+v", sentVolumes)
	}
	cli, out, _ = newCli(fake)
	cli.In = strings.NewReader("n\n")
	_ = runPrune(context.Background(), cli, pruneOptions{volumes: true, filter: command.NewFilterOpt()})
	if !strings.Contains(out.String(), "  - all anonymous volumes not used by at least one container\n") {
		t.Errorf("prompt with --volumes: %q", out)
	}
	bad := command.NewFilterOpt()
	bad.Set("dangling=true")
	if err := runPrune(context.Background(), cli, pruneOptions{force: true, filter: bad}); err == nil || err.Error() != "invalid filter 'dangling'" {
		t.Errorf("bad filter: %v", err)
	}
}

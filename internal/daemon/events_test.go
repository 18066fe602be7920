package daemon

import (
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	imagetypes "github.com/moby/moby/api/types/image"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/events"
)

func TestContainerAttributes(t *testing.T) {
	c := container.New("abc", "/web", &ctypes.Config{Image: "busybox", Labels: map[string]string{"tier": "front", "name": "label-loses"}}, &ctypes.HostConfig{}, time.Now())
	c.ImageRef = "busybox:latest"
	got := containerAttributes(c, map[string]string{"exitCode": "3"})
	want := map[string]string{"tier": "front", "name": "web", "image": "busybox:latest", "exitCode": "3"}
	if len(got) != len(want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestImageDeleteEvents(t *testing.T) {
	d := &Daemon{events: events.New(0)}
	_, sub := d.events.Subscribe(time.Time{}, time.Time{}, nil)
	defer sub.Close()
	d.logDeleteEvents("sha256:img", []imagetypes.DeleteResponse{
		{Untagged: "busybox:latest"}, {Untagged: "busybox:1"}, {Deleted: "sha256:img"}, {Deleted: "sha256:layer"},
	})
	var got []string
	for len(got) < 3 {
		select {
		case m := <-sub.C():
			if m.Type != eventtypes.ImageEventType || m.Actor.ID != "sha256:img" || m.Actor.Attributes["name"] != "sha256:img" {
				t.Errorf("event %+v", m)
			}
			got = append(got, string(m.Action))
		case <-time.After(time.Second):
			t.Fatalf("events %v", got)
		}
	}
	select {
	case m := <-sub.C():
		t.Errorf("extra event for a layer: %+v", m)
	default:
	}
	if got[0] != "untag" || got[1] != "untag" || got[2] != "delete" {
		t.Errorf("actions %v", got)
	}
}

func TestPruneEvent(t *testing.T) {
	m := pruneEvent(eventtypes.ContainerEventType, 1234)
	if m.Action != eventtypes.ActionPrune || m.Actor.ID != "" || m.Actor.Attributes["reclaimed"] != "1234" {
		t.Errorf("prune event %+v", m)
	}
}

package container

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
)

// TestStatsLive: without --no-stream the table is redrawn in place from
// each container's stream until the streams end; the last sample's
// figures are shown.
func TestStatsLive(t *testing.T) {
	sample := func(total, system uint64, pretotal, presystem uint64) string {
		var s ctypes.StatsResponse
		s.ID, s.Name = "0123456789abcdef", "/web"
		s.CPUStats.CPUUsage.TotalUsage, s.CPUStats.SystemUsage, s.CPUStats.OnlineCPUs = total, system, 2
		s.PreCPUStats.CPUUsage.TotalUsage, s.PreCPUStats.SystemUsage = pretotal, presystem
		s.PidsStats.Current = 3
		b, _ := json.Marshal(s)
		return string(b) + "\n"
	}
	var gotOpts client.ContainerStatsOptions
	fake := &clitest.FakeClient{ContainerStatsFunc: func(id string, o client.ContainerStatsOptions) (client.ContainerStatsResult, error) {
		gotOpts = o
		// Two samples: the second used a quarter of the system's time over
		// two CPUs, i.e. 50%.
		body := sample(100, 1000, 0, 0) + sample(350, 2000, 100, 1000)
		return client.ContainerStatsResult{Body: io.NopCloser(strings.NewReader(body))}, nil
	}}
	cli, out, _ := newCli(fake)
	if err := runStats(context.Background(), cli, statsOptions{format: "{{.Name}} {{.CPUPerc}} {{.PIDs}}"}, []string{"web"}); err != nil {
		t.Fatal(err)
	}
	if !gotOpts.Stream {
		t.Errorf("stats options %+v, want a stream", gotOpts)
	}
	screens := strings.Split(out.String(), "\033[H")
	last := screens[len(screens)-1]
	if last != "web 50.00% 3\033[K\n\033[J" {
		t.Errorf("last screen %q (all: %q)", last, out.String())
	}
}

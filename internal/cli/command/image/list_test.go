package image

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

func TestList(t *testing.T) {
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		args       []string
		wantAll    bool
		wantFilter map[string]string
		want       string
	}{
		{"quiet", []string{"-q"}, false, nil, "111111111111\n111111111111\n222222222222\n"},
		{"all and reference", []string{"-a", "busybox"}, true, map[string]string{"reference": "busybox"}, ""},
		{"dangling filter", []string{"-f", "dangling=true", "--format", "{{.ID}}"}, false, map[string]string{"dangling": "true"}, ""},
		{"template", []string{"--format", "{{.Repository}}:{{.Tag}} {{.CreatedSince}}"}, false, nil,
			"busybox:latest 4 weeks ago\nlocalhost:5000/busybox:1.36 4 weeks ago\n<none>:<none> 5 minutes ago\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got client.ImageListOptions
			data := clitest.Sample(now)
			fake := &clitest.FakeClient{ImageListFunc: func(o client.ImageListOptions) (client.ImageListResult, error) {
				got = o
				return client.ImageListResult{Items: data.Images}, nil
			}}
			var out bytes.Buffer
			cli := command.NewCli(&out, &bytes.Buffer{}, func(string) string { return "" })
			cli.Clock = func() time.Time { return now }
			cli.NewClient = func(string) (command.APIClient, error) { return fake, nil }
			cmd := NewListCommand(cli)
			cmd.SetArgs(c.args)
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got.All != c.wantAll || len(got.Filters) != len(c.wantFilter) {
				t.Fatalf("options %+v", got)
			}
			for k, v := range c.wantFilter {
				if !got.Filters[k][v] {
					t.Fatalf("filter %s=%s missing: %+v", k, v, got.Filters)
				}
			}
			if c.want != "" && out.String() != c.want {
				t.Fatalf("got %q, want %q", out.String(), c.want)
			}
		})
	}
}

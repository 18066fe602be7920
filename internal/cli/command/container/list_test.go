package container

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

var now = time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)

// newCli returns a Cli talking to fake, and its two output buffers.
func newCli(fake *clitest.FakeClient) (*command.Cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	c := command.NewCli(&out, &errb, func(string) string { return "" })
	c.Clock = func() time.Time { return now }
	c.NewClient = func(string) (command.APIClient, error) { return fake, nil }
	return c, &out, &errb
}

func TestListOptions(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want client.ContainerListOptions
	}{
		{"default", nil, client.ContainerListOptions{Limit: -1}},
		{"all", []string{"-a"}, client.ContainerListOptions{All: true, Limit: -1}},
		{"last implies all", []string{"-n", "3"}, client.ContainerListOptions{All: true, Limit: 3}},
		{"latest", []string{"-l"}, client.ContainerListOptions{All: true, Limit: 1}},
		{"size", []string{"--size"}, client.ContainerListOptions{Size: true, Limit: -1}},
		{"filters", []string{"-f", "label=a=b", "--filter", "status=running"},
			client.ContainerListOptions{Limit: -1, Filters: client.Filters{"label": {"a=b": true}, "status": {"running": true}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got client.ContainerListOptions
			cli, _, _ := newCli(&clitest.FakeClient{ContainerListFunc: func(o client.ContainerListOptions) (client.ContainerListResult, error) {
				got = o
				return client.ContainerListResult{}, nil
			}})
			cmd := NewListCommand(cli)
			cmd.SetArgs(c.args)
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got.All != c.want.All || got.Limit != c.want.Limit || got.Size != c.want.Size || len(got.Filters) != len(c.want.Filters) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for k, vs := range c.want.Filters {
				for v := range vs {
					if !got.Filters[k][v] {
						t.Fatalf("filter %s=%s missing: %+v", k, v, got.Filters)
					}
				}
			}
		})
	}
}

func TestListQuietWithFormat(t *testing.T) {
	cli, out, errb := newCli(&clitest.FakeClient{ContainerListFunc: func(client.ContainerListOptions) (client.ContainerListResult, error) {
		return client.ContainerListResult{Items: []container.Summary{{ID: strings.Repeat("ab", 32), Names: []string{"/x"}}}}, nil
	}})
	cmd := NewListCommand(cli)
	cmd.SetArgs([]string{"-q", "--format", "{{.Names}}"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "abababababab\n" {
		t.Fatalf("out %q", out.String())
	}
	if !strings.Contains(errb.String(), "Ignoring custom format") {
		t.Fatalf("no warning: %q", errb.String())
	}
}

func TestListEmptyTable(t *testing.T) {
	cli, out, _ := newCli(&clitest.FakeClient{})
	cmd := NewListCommand(cli)
	cmd.SetArgs(nil)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

func TestListError(t *testing.T) {
	boom := errors.New("Error response from daemon: boom")
	cli, out, _ := newCli(&clitest.FakeClient{ContainerListFunc: func(client.ContainerListOptions) (client.ContainerListResult, error) {
		return client.ContainerListResult{}, boom
	}})
	cmd := NewListCommand(cli)
	cmd.SetArgs(nil)
	if err := cmd.ExecuteContext(context.Background()); !errors.Is(err, boom) || out.Len() != 0 {
		t.Fatalf("err %v, out %q", err, out.String())
	}
}

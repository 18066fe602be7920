package system

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

func newCli(fake *clitest.FakeClient) (*command.Cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	c := command.NewCli(&out, &errb, func(string) string { return "" })
	c.NewClient = func(string) (command.APIClient, error) { return fake, nil }
	return c, &out, &errb
}

func TestVersionServerError(t *testing.T) {
	boom := errors.New("Error response from daemon: boom")
	cli, out, _ := newCli(&clitest.FakeClient{ServerVersionFunc: func() (client.ServerVersionResult, error) {
		return client.ServerVersionResult{}, boom
	}})
	err := runVersion(context.Background(), cli, versionOptions{})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if !strings.HasPrefix(out.String(), "Client:\n") || strings.Contains(out.String(), "Server") {
		t.Fatalf("out %q", out.String())
	}
	out.Reset()
	if err := runVersion(context.Background(), cli, versionOptions{format: "{{.ServerOK}} {{.Server}}"}); !errors.Is(err, boom) || out.String() != "false <nil>\n" {
		t.Fatalf("err %v, out %q", err, out.String())
	}
}

func TestVersionWithoutComponents(t *testing.T) {
	cli, out, _ := newCli(&clitest.FakeClient{ServerVersionFunc: func() (client.ServerVersionResult, error) {
		return client.ServerVersionResult{Version: "1.0", APIVersion: "1.44"}, nil
	}})
	if err := runVersion(context.Background(), cli, versionOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "\nServer:\n") {
		t.Fatalf("out %q", out.String())
	}
}

func TestInfoDebugAndSecurityOptions(t *testing.T) {
	cli, out, _ := newCli(&clitest.FakeClient{InfoFunc: func() (client.SystemInfoResult, error) {
		return client.SystemInfoResult{Info: system.Info{
			Debug: true, NFd: 12, NGoroutines: 34, SystemTime: "now", NEventsListener: 1,
			SecurityOptions: []string{"name=seccomp,profile=builtin", "name=rootless", "name=cgroupns"},
			Labels:          []string{"a=b"},
		}}, nil
	}})
	if err := runInfo(context.Background(), cli, infoOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		" Debug Mode: true\n  File Descriptors: 12\n  Goroutines: 34\n  System Time: now\n  EventsListeners: 1\n",
		" Security Options:\n  seccomp\n   Profile: builtin\n  rootless\n  cgroupns\n",
		" Labels:\n  a=b\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%s", want, out.String())
		}
	}
}

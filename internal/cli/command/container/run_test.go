package container

import (
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

func TestRunAttachFailure(t *testing.T) {
	removed, started := false, false
	fake := &clitest.FakeClient{
		ContainerCreateFunc: func(client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
			return client.ContainerCreateResult{ID: "abc"}, nil
		},
		ContainerAttachFunc: func(string, client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
			return client.ContainerAttachResult{}, errors.New("Error response from daemon: attach refused")
		},
		ContainerStartFunc: func(string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
			started = true
			return client.ContainerStartResult{}, nil
		},
		ContainerRemoveFunc: func(string, client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
			removed = true
			return client.ContainerRemoveResult{}, nil
		},
	}
	_, _, err := execute(t, fake, nil, "run", "--rm", "busybox")
	var se command.StatusError
	if !errors.As(err, &se) || se.StatusCode != 125 || !strings.HasPrefix(se.Status, "berth: Error response from daemon: attach refused") {
		t.Fatalf("err %v, want status 125", err)
	}
	if started || !removed {
		t.Fatalf("started %v removed %v", started, removed)
	}
}

func TestRunDetachFlags(t *testing.T) {
	var got client.ContainerCreateOptions
	fake := &clitest.FakeClient{ContainerCreateFunc: func(o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
		got = o
		return client.ContainerCreateResult{ID: "abc"}, nil
	}}
	out, _, err := execute(t, fake, nil, "run", "-d", "-i", "-t", "busybox", "sh")
	c := got.Config
	if err != nil || out != "abc\n" || !c.OpenStdin || !c.Tty || c.AttachStdin || c.AttachStdout || c.AttachStderr || c.StdinOnce {
		t.Fatalf("out %q err %v config %+v", out, err, c)
	}
	if got.HostConfig.ConsoleSize != [2]uint{} {
		t.Fatalf("console size %v without a terminal", got.HostConfig.ConsoleSize)
	}
}

package container

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

func execute(t *testing.T, fake *clitest.FakeClient, newCmd func(*command.Cli) any, args ...string) (string, string, error) {
	t.Helper()
	cli, out, errb := newCli(fake)
	cmd := NewContainerCommand(cli)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestCreateFlags(t *testing.T) {
	var got client.ContainerCreateOptions
	fake := &clitest.FakeClient{ContainerCreateFunc: func(o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
		got = o
		return client.ContainerCreateResult{ID: "abc", Warnings: []string{"careful"}}, nil
	}}
	out, errOut, err := execute(t, fake, nil, "create", "--name", "web", "-e", "A=1", "-w", "/tmp", "-u", "1:2",
		"--entrypoint", "/bin/sh", "--memory", "64m", "--cpus", "1.5", "--pids-limit", "10", "--cap-add", "NET_ADMIN",
		"--cap-drop", "ALL", "--privileged", "--read-only", "--tmpfs", "/run:size=1m", "-v", "/src:/dst:ro",
		"--network", "host", "--restart", "on-failure:3", "--label", "k=v", "busybox", "echo", "-n", "hi")
	if err != nil {
		t.Fatal(err)
	}
	if out != "abc\n" || errOut != "WARNING: careful\n" {
		t.Fatalf("out %q err %q", out, errOut)
	}
	c, h := got.Config, got.HostConfig
	if got.Name != "web" || c.Image != "busybox" || strings.Join(c.Cmd, " ") != "echo -n hi" || c.Entrypoint[0] != "/bin/sh" ||
		c.Env[0] != "A=1" || c.WorkingDir != "/tmp" || c.User != "1:2" || c.Labels["k"] != "v" {
		t.Fatalf("config %+v", c)
	}
	if h.Memory != 64<<20 || h.NanoCPUs != 1500000000 || *h.PidsLimit != 10 || h.CapAdd[0] != "NET_ADMIN" || h.CapDrop[0] != "ALL" ||
		!h.Privileged || !h.ReadonlyRootfs || h.Tmpfs["/run"] != "size=1m" || h.Binds[0] != "/src:/dst:ro" ||
		h.NetworkMode != "host" || h.RestartPolicy.Name != container.RestartPolicyOnFailure || h.RestartPolicy.MaximumRetryCount != 3 {
		t.Fatalf("host config %+v", h)
	}
}

func TestCreateBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"create", "--memory", "lots", "busybox"},
		{"create", "--cpus", "x", "busybox"},
		{"create", "--restart", "always:3", "busybox"},
		{"create", "--rm", "--restart", "always", "busybox"},
	} {
		_, _, err := execute(t, &clitest.FakeClient{}, nil, args...)
		var se command.StatusError
		if !errors.As(err, &se) || se.StatusCode != 125 {
			t.Errorf("%v: %v, want status 125", args, err)
		}
	}
}

// frame is one multiplexed-stream frame.
func frame(stream byte, s string) []byte {
	h := make([]byte, 8, 8+len(s))
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

func TestRunAttached(t *testing.T) {
	fake := &clitest.FakeClient{
		ContainerCreateFunc: func(client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
			return client.ContainerCreateResult{ID: "abc"}, nil
		},
		ContainerAttachFunc: func(string, client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
			server, conn := net.Pipe()
			go func() {
				server.Write(frame(1, "out\n"))
				server.Write(frame(2, "err\n"))
				server.Close()
			}()
			return client.ContainerAttachResult{HijackedResponse: client.NewHijackedResponse(conn, "")}, nil
		},
		ContainerWaitFunc: func(_ string, o client.ContainerWaitOptions) (container.WaitResponse, error) {
			if o.Condition != container.WaitConditionRemoved {
				t.Errorf("condition %q with --rm", o.Condition)
			}
			return container.WaitResponse{StatusCode: 3}, nil
		},
	}
	out, errOut, err := execute(t, fake, nil, "run", "--rm", "busybox")
	var se command.StatusError
	if !errors.As(err, &se) || se.StatusCode != 3 {
		t.Fatalf("err %v, want status 3", err)
	}
	if out != "out\n" || errOut != "err\n" {
		t.Fatalf("out %q err %q", out, errOut)
	}
}

func TestRunStartErrors(t *testing.T) {
	cases := map[string]int{
		`exec: "nope": executable file not found in $PATH`: 127,
		"exec /etc/passwd: permission denied":              126,
		"something else":                                   125,
	}
	for msg, want := range cases {
		removed := false
		fake := &clitest.FakeClient{
			ContainerCreateFunc: func(client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
				return client.ContainerCreateResult{ID: "abc"}, nil
			},
			ContainerAttachFunc: func(string, client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
				_, conn := net.Pipe()
				return client.ContainerAttachResult{HijackedResponse: client.NewHijackedResponse(conn, "")}, nil
			},
			ContainerStartFunc: func(string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
				return client.ContainerStartResult{}, errors.New("Error response from daemon: " + msg)
			},
			ContainerRemoveFunc: func(string, client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
				removed = true
				return client.ContainerRemoveResult{}, nil
			},
		}
		_, _, err := execute(t, fake, nil, "run", "--rm", "busybox")
		var se command.StatusError
		if !errors.As(err, &se) || se.StatusCode != want || !strings.Contains(se.Status, msg) {
			t.Errorf("%s: %v, want status %d", msg, err, want)
		}
		if !removed {
			t.Errorf("%s: --rm container not removed", msg)
		}
	}
}

func TestRunDetached(t *testing.T) {
	started := ""
	fake := &clitest.FakeClient{
		ContainerCreateFunc: func(client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
			return client.ContainerCreateResult{ID: "abc"}, nil
		},
		ContainerStartFunc: func(id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
			started = id
			return client.ContainerStartResult{}, nil
		},
	}
	out, _, err := execute(t, fake, nil, "run", "-d", "busybox", "sleep", "1")
	if err != nil || out != "abc\n" || started != "abc" {
		t.Fatalf("out %q err %v started %q", out, err, started)
	}
}

func TestStopKillRmOptions(t *testing.T) {
	var stopT *int
	var sig string
	var rm client.ContainerRemoveOptions
	fake := &clitest.FakeClient{
		ContainerStopFunc: func(_ string, o client.ContainerStopOptions) (client.ContainerStopResult, error) {
			stopT = o.Timeout
			return client.ContainerStopResult{}, nil
		},
		ContainerKillFunc: func(_ string, o client.ContainerKillOptions) (client.ContainerKillResult, error) {
			sig = o.Signal
			return client.ContainerKillResult{}, nil
		},
		ContainerRemoveFunc: func(id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
			if id == "bad" {
				return client.ContainerRemoveResult{}, errors.New("Error response from daemon: No such container: bad")
			}
			rm = o
			return client.ContainerRemoveResult{}, nil
		},
	}
	if out, _, err := execute(t, fake, nil, "stop", "-t", "1", "a"); err != nil || out != "a\n" || stopT == nil || *stopT != 1 {
		t.Fatalf("stop: %q %v %v", out, err, stopT)
	}
	if out, _, err := execute(t, fake, nil, "kill", "-s", "HUP", "a"); err != nil || out != "a\n" || sig != "HUP" {
		t.Fatalf("kill: %q %v %q", out, err, sig)
	}
	out, _, err := execute(t, fake, nil, "rm", "-f", "-v", "a", "bad")
	var se command.StatusError
	if out != "a\n" || !errors.As(err, &se) || se.StatusCode != 1 || se.Status != "Error response from daemon: No such container: bad" || !rm.Force || !rm.RemoveVolumes {
		t.Fatalf("rm: %q %v %+v", out, err, rm)
	}
}

func TestLogsOptions(t *testing.T) {
	var got client.ContainerLogsOptions
	fake := &clitest.FakeClient{
		ContainerInspectFunc: func(string, client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
			return client.ContainerInspectResult{Container: container.InspectResponse{Config: &container.Config{}}}, nil
		},
		ContainerLogsFunc: func(_ string, o client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
			got = o
			return nopCloser{strings.NewReader(string(frame(1, "a\n")) + string(frame(2, "b\n")))}, nil
		},
	}
	out, errOut, err := execute(t, fake, nil, "logs", "-f", "--tail", "5", "-t", "--since", "1m", "--until", "1s", "c")
	if err != nil || out != "a\n" || errOut != "b\n" {
		t.Fatalf("out %q err %q %v", out, errOut, err)
	}
	if !got.Follow || got.Tail != "5" || !got.Timestamps || got.Since != "1m" || got.Until != "1s" || !got.ShowStdout || !got.ShowStderr {
		t.Fatalf("options %+v", got)
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func TestInspectGolden(t *testing.T) {
	fake := &clitest.FakeClient{ContainerInspectFunc: func(id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
		if id == "nope" {
			return client.ContainerInspectResult{}, errors.New("Error response from daemon: No such container: nope")
		}
		return client.ContainerInspectResult{Raw: []byte(`{"Id":"` + id + `","State":{"Running":true,"Pid":42},"Name":"/` + id + `"}`)}, nil
	}}
	out, _, err := execute(t, fake, nil, "inspect", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "inspect.golden", out)
	out, _, err = execute(t, fake, nil, "inspect", "-f", "{{.Name}} {{.State.Running}} {{.State.Pid}}", "a", "nope")
	if out != "/a true 42\n" || err == nil || !strings.Contains(err.Error(), "No such container: nope") {
		t.Fatalf("out %q err %v", out, err)
	}
	if _, _, err := execute(t, fake, nil, "inspect", "-f", "{{.Nope}}", "a"); err == nil || !strings.HasPrefix(err.Error(), "template parsing error") {
		t.Fatalf("missing key: %v", err)
	}
}

func TestTopAndStatsGolden(t *testing.T) {
	fake := &clitest.FakeClient{
		ContainerTopFunc: func(string, client.ContainerTopOptions) (client.ContainerTopResult, error) {
			return client.ContainerTopResult{Titles: []string{"UID", "PID", "CMD"}, Processes: [][]string{{"root", "42", "sleep 100"}}}, nil
		},
	}
	out, _, err := execute(t, fake, nil, "top", "c")
	if err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "top.golden", out)

	r := newStatsRow("x", container.StatsResponse{
		ID: strings.Repeat("ab", 32), Name: "/web",
		CPUStats:    container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: 300}, SystemUsage: 2000, OnlineCPUs: 2},
		PreCPUStats: container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: 100}, SystemUsage: 1000},
		MemoryStats: container.MemoryStats{Usage: 3 << 20, Limit: 64 << 20, Stats: map[string]uint64{"inactive_file": 1 << 20}},
		PidsStats:   container.PidsStats{Current: 3},
	})
	if r.CPUPerc() != "40.00%" || r.MemUsage() != "2MiB / 64MiB" || r.MemPerc() != "3.12%" || r.PIDs() != "3" || r.Name() != "web" {
		t.Fatalf("stats row %s %s %s %s %s", r.CPUPerc(), r.MemUsage(), r.MemPerc(), r.PIDs(), r.Name())
	}
}

func TestPrune(t *testing.T) {
	fake := &clitest.FakeClient{ContainerPruneFunc: func(o client.ContainerPruneOptions) (client.ContainerPruneResult, error) {
		if !o.Filters["until"]["1h"] {
			t.Errorf("filters %v", o.Filters)
		}
		return client.ContainerPruneResult{Report: container.PruneReport{ContainersDeleted: []string{"a", "b"}, SpaceReclaimed: 2048}}, nil
	}}
	out, _, err := execute(t, fake, nil, "prune", "-f", "--filter", "until=1h")
	if err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "prune.golden", out)
}

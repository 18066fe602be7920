package container

import (
	"errors"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
)

func TestUpdateFlags(t *testing.T) {
	var got []client.ContainerUpdateOptions
	fake := &clitest.FakeClient{}
	fake.ContainerUpdateFunc = func(id string, o client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
		if id == "bad" {
			return client.ContainerUpdateResult{}, errors.New("Error response from daemon: No such container: bad")
		}
		got = append(got, o)
		return client.ContainerUpdateResult{}, nil
	}
	pids := int64(20)
	cases := []struct {
		args []string
		want client.ContainerUpdateOptions
	}{
		{[]string{"--cpus", "0.5", "--cpu-shares", "256", "--cpu-period", "100000", "--cpu-quota", "50000", "--cpuset-cpus", "1", "--cpuset-mems", "0", "--blkio-weight", "500"},
			client.ContainerUpdateOptions{Resources: &container.Resources{NanoCPUs: 5e8, CPUShares: 256, CPUPeriod: 100000, CPUQuota: 50000, CpusetCpus: "1", CpusetMems: "0", BlkioWeight: 500}}},
		{[]string{"-m", "1g", "--memory-swap", "-1", "--memory-reservation", "512m", "--pids-limit", "20"},
			client.ContainerUpdateOptions{Resources: &container.Resources{Memory: 1 << 30, MemorySwap: -1, MemoryReservation: 512 << 20, PidsLimit: &pids}}},
		{[]string{"--restart", "always"},
			client.ContainerUpdateOptions{Resources: &container.Resources{}, RestartPolicy: &container.RestartPolicy{Name: container.RestartPolicyAlways}}},
	}
	for _, c := range cases {
		got = nil
		out, _, err := execute(t, fake, nil, append(append([]string{"update"}, c.args...), "a")...)
		if err != nil || out != "a\n" || len(got) != 1 || !reflect.DeepEqual(got[0], c.want) {
			t.Errorf("%v: out %q err %v\ngot  %+v\nwant %+v", c.args, out, err, got, c.want)
		}
	}
	out, _, err := execute(t, fake, nil, "update", "--cpus", "1", "a", "bad")
	if out != "a\n" || err == nil || err.Error() != "Error response from daemon: No such container: bad, StatusCode: 1" {
		t.Fatalf("partial failure: out %q err %v", out, err)
	}
	for _, bad := range [][]string{{"--cpus", "x"}, {"-m", "lots"}, {"--memory-swap", "z"}, {"--blkio-weight", "70000"}} {
		if _, _, err := execute(t, fake, nil, append(append([]string{"update"}, bad...), "a")...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, _, err := execute(t, fake, nil, "update", "--restart", "sometimes", "a"); err == nil {
		t.Error("bad restart policy accepted")
	}
}

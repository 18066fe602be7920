package cli_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/berth-engine/berth/internal/cli"
	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

// runIn executes berth against s with in as its standard input.
func runIn(t *testing.T, s *clitest.Server, in io.Reader, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := command.NewCli(&out, &errb, func(k string) string {
		if k == "BERTH_HOST" {
			return s.Host
		}
		return ""
	})
	c.In = in
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := cli.Run(ctx, c, args)
	return result{out: out.String(), err: errb.String(), code: code}
}

// TestCreateFlagValues checks what each create flag puts in the request the
// daemon receives.
func TestCreateFlagValues(t *testing.T) {
	seccomp := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(seccomp, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	labels := filepath.Join(t.TempDir(), "labels")
	if err := os.WriteFile(labels, []byte("# team labels\ntier=front\n\nowner=ops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	yes, swappiness := true, int64(10)
	cases := []struct {
		name  string
		args  []string
		check func(c *container.Config, h *container.HostConfig) any // returns got when wrong
	}{
		{"health", []string{"--health-cmd", "true", "--health-interval", "5s", "--health-timeout", "2s", "--health-retries", "3", "--health-start-period", "1m", "--health-start-interval", "500ms"},
			func(c *container.Config, _ *container.HostConfig) any {
				want := &container.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: 5 * time.Second, Timeout: 2 * time.Second,
					Retries: 3, StartPeriod: time.Minute, StartInterval: 500 * time.Millisecond}
				return diff(c.Healthcheck, want)
			}},
		{"no-healthcheck", []string{"--no-healthcheck"},
			func(c *container.Config, _ *container.HostConfig) any {
				return diff(c.Healthcheck, &container.HealthConfig{Test: []string{"NONE"}})
			}},
		{"no health flags", nil,
			func(c *container.Config, _ *container.HostConfig) any {
				return diff(c.Healthcheck, (*container.HealthConfig)(nil))
			}},
		{"cpu", []string{"-c", "512", "--cpu-period", "100000", "--cpu-quota", "50000", "--cpuset-cpus", "0-1", "--cpuset-mems", "0", "--blkio-weight", "300"},
			func(_ *container.Config, h *container.HostConfig) any {
				r := h.Resources
				return diff([]any{r.CPUShares, r.CPUPeriod, r.CPUQuota, r.CpusetCpus, r.CpusetMems, r.BlkioWeight},
					[]any{int64(512), int64(100000), int64(50000), "0-1", "0", uint16(300)})
			}},
		{"memory", []string{"-m", "64m", "--memory-swap", "-1", "--memory-reservation", "32m", "--oom-kill-disable", "--oom-score-adj", "-500", "--shm-size", "128m"},
			func(_ *container.Config, h *container.HostConfig) any {
				return diff([]any{h.Memory, h.MemorySwap, h.MemoryReservation, h.OomKillDisable, h.OomScoreAdj, h.ShmSize},
					[]any{int64(64 << 20), int64(-1), int64(32 << 20), &yes, -500, int64(128 << 20)})
			}},
		{"memory-swap size", []string{"--memory-swap", "1g"},
			func(_ *container.Config, h *container.HostConfig) any { return diff(h.MemorySwap, int64(1<<30)) }},
		{"ulimit", []string{"--ulimit", "nofile=1024:2048", "--ulimit", "nproc=10", "--ulimit", "nofile=5"},
			func(_ *container.Config, h *container.HostConfig) any {
				return diff(h.Ulimits, []*container.Ulimit{{Name: "nofile", Soft: 5, Hard: 5}, {Name: "nproc", Soft: 10, Hard: 10}})
			}},
		{"sysctl", []string{"--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=4096", "--sysctl", "fs.mqueue.msg_max=20"},
			func(_ *container.Config, h *container.HostConfig) any {
				return diff(h.Sysctls, map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096", "fs.mqueue.msg_max": "20"})
			}},
		{"device", []string{"--device", "/dev/fuse", "--device", "/dev/sda:/dev/xvda:r", "--device", "/dev/null:rw"},
			func(_ *container.Config, h *container.HostConfig) any {
				return diff(h.Devices, []container.DeviceMapping{
					{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"},
					{PathOnHost: "/dev/sda", PathInContainer: "/dev/xvda", CgroupPermissions: "r"},
					{PathOnHost: "/dev/null", PathInContainer: "/dev/null", CgroupPermissions: "rw"},
				})
			}},
		{"namespaces", []string{"--group-add", "audio", "--group-add", "10", "--cgroupns", "private", "--pid", "host", "--ipc", "shareable", "--uts", "host", "--cgroup-parent", "/mine"},
			func(_ *container.Config, h *container.HostConfig) any {
				return diff([]any{h.GroupAdd, h.CgroupnsMode, h.PidMode, h.IpcMode, h.UTSMode, h.CgroupParent},
					[]any{[]string{"audio", "10"}, container.CgroupnsMode("private"), container.PidMode("host"), container.IpcMode("shareable"), container.UTSMode("host"), "/mine"})
			}},
		{"pid container", []string{"--pid", "container:web"},
			func(_ *container.Config, h *container.HostConfig) any {
				return diff(h.PidMode, container.PidMode("container:web"))
			}},
		{"security-opt", []string{"--security-opt", "no-new-privileges", "--security-opt", "label:disable", "--security-opt", "seccomp=" + seccomp, "--security-opt", "systempaths=unconfined"},
			func(_ *container.Config, h *container.HostConfig) any {
				return diff([]any{h.SecurityOpt, h.MaskedPaths, h.ReadonlyPaths},
					[]any{[]string{"no-new-privileges", "label:disable", `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}, []string{}, []string{}})
			}},
		{"mount", []string{"--mount", "type=bind,src=/srv,dst=/data,readonly,bind-propagation=rshared",
			"--mount", "type=tmpfs,destination=/run,tmpfs-size=64m,tmpfs-mode=1770",
			"--mount", "target=/vol,source=v1,volume-nocopy,volume-label=a=b,volume-driver=local,volume-opt=o=bind"},
			func(_ *container.Config, h *container.HostConfig) any {
				return diff(h.Mounts, []mount.Mount{
					{Type: mount.TypeBind, Source: "/srv", Target: "/data", ReadOnly: true, BindOptions: &mount.BindOptions{Propagation: mount.PropagationRShared}},
					{Type: mount.TypeTmpfs, Target: "/run", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 64 << 20, Mode: 0o1770}},
					{Type: mount.TypeVolume, Source: "v1", Target: "/vol", VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: map[string]string{"a": "b"},
						DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"o": "bind"}}}},
				})
			}},
		{"volumes", []string{"-v", "data:/data:ro,nocopy", "-v", "/anon", "-v", "/srv:/srv", "-v", "./rel:/rel", "--volumes-from", "db:ro", "--volumes-from", "cache"},
			func(c *container.Config, h *container.HostConfig) any {
				wd, _ := os.Getwd()
				return diff([]any{h.Binds, c.Volumes, h.VolumesFrom},
					[]any{[]string{"data:/data:ro,nocopy", "/srv:/srv", filepath.Join(wd, "rel") + ":/rel"}, map[string]struct{}{"/anon": {}}, []string{"db:ro", "cache"}})
			}},
		{"names and logging", []string{"--domainname", "example.org", "--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=2",
			"--annotation", "org.example=1", "--stop-timeout", "7", "--platform", "linux/amd64"},
			func(c *container.Config, h *container.HostConfig) any {
				return diff([]any{c.Domainname, h.LogConfig, h.Annotations, *c.StopTimeout},
					[]any{"example.org", container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "2"}},
						map[string]string{"org.example": "1"}, 7})
			}},
		{"expose", []string{"--expose", "80", "--expose", "53/udp", "--expose", "8000-8002/TCP"},
			func(c *container.Config, _ *container.HostConfig) any {
				return diff(c.ExposedPorts, network.PortSet{
					network.MustParsePort("80/tcp"): {}, network.MustParsePort("53/udp"): {},
					network.MustParsePort("8000/tcp"): {}, network.MustParsePort("8001/tcp"): {}, network.MustParsePort("8002/tcp"): {},
				})
			}},
		{"userns, swappiness, runtime, label-file", []string{"--userns", "host", "--memory-swappiness", "10", "--runtime", "runc", "--label-file", labels, "-l", "tier=back"},
			func(c *container.Config, h *container.HostConfig) any {
				return diff([]any{h.UsernsMode, h.MemorySwappiness, h.Runtime, c.Labels},
					[]any{container.UsernsMode("host"), &swappiness, "runc", map[string]string{"tier": "back", "owner": "ops"}})
			}},
		{"streams", []string{"-i", "-t", "-a", "STDIN", "-a", "stdout"},
			func(c *container.Config, _ *container.HostConfig) any {
				return diff([]bool{c.OpenStdin, c.Tty, c.AttachStdin, c.AttachStdout, c.AttachStderr, c.StdinOnce},
					[]bool{true, true, true, true, false, true})
			}},
		{"create default streams", nil,
			func(c *container.Config, _ *container.HostConfig) any {
				return diff([]bool{c.OpenStdin, c.Tty, c.AttachStdin, c.AttachStdout, c.AttachStderr, c.StdinOnce},
					[]bool{false, false, false, true, true, false})
			}},
	}
	s := clitest.Start(t, clitest.Sample(now))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"create"}, c.args...), "busybox", "true")
			r := runIn(t, s, nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.err)
			}
			created := s.Created()
			req := created[len(created)-1]
			if got := c.check(req.Config, req.HostConfig); got != nil {
				t.Errorf("%v", got)
			}
		})
	}
}

func diff(got, want any) any {
	if reflect.DeepEqual(got, want) {
		return nil
	}
	return struct{ Got, Want any }{got, want}
}

// TestCreateFlagErrors checks docker's messages and exit status 125 for bad
// flag values; nothing reaches the daemon.
func TestCreateFlagErrors(t *testing.T) {
	usage := "\n\nUsage:  berth create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth create --help' for more information\n"
	help := "\n\nRun 'berth create --help' for more information\n"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--ulimit", "nofile"}, `invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile` + usage},
		{[]string{"--ulimit", "foo=1"}, `invalid argument "foo=1" for "--ulimit" flag: invalid ulimit type: foo` + usage},
		{[]string{"--ulimit", "nofile=10:5"}, `invalid argument "nofile=10:5" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 10 > 5` + usage},
		{[]string{"--sysctl", "kernel.foo=1"}, `invalid argument "kernel.foo=1" for "--sysctl" flag: sysctl 'kernel.foo=1' is not allowed` + usage},
		{[]string{"--sysctl", "net.ipv4.ip_forward"}, `invalid argument "net.ipv4.ip_forward" for "--sysctl" flag: sysctl 'net.ipv4.ip_forward' is not allowed` + usage},
		{[]string{"--mount", "source=/x"}, `invalid argument "source=/x" for "--mount" flag: target is required` + usage},
		{[]string{"--mount", "type=bind"}, `invalid argument "type=bind" for "--mount" flag: target is required` + usage},
		{[]string{"--mount", "foo"}, `invalid argument "foo" for "--mount" flag: invalid field 'foo' must be a key=value pair` + usage},
		{[]string{"--mount", "target=/x,foo=bar"}, `invalid argument "target=/x,foo=bar" for "--mount" flag: unexpected key 'foo' in 'foo=bar'` + usage},
		{[]string{"--mount", "type=bind,target=/x,volume-nocopy"}, `invalid argument "type=bind,target=/x,volume-nocopy" for "--mount" flag: cannot mix 'volume-*' options with mount type 'bind'` + usage},
		{[]string{"--mount", "type=volume,target=/x,bind-propagation=shared"}, `invalid argument "type=volume,target=/x,bind-propagation=shared" for "--mount" flag: cannot mix 'bind-*' options with mount type 'volume'` + usage},
		{[]string{"--mount", "type=bind,target=/x,tmpfs-size=1m"}, `invalid argument "type=bind,target=/x,tmpfs-size=1m" for "--mount" flag: cannot mix 'tmpfs-*' options with mount type 'bind'` + usage},
		{[]string{"--mount", "type=tmpfs,target=/t,tmpfs-size=x"}, `invalid argument "type=tmpfs,target=/t,tmpfs-size=x" for "--mount" flag: invalid value for tmpfs-size: x` + usage},
		{[]string{"--mount", "type=tmpfs,target=/x,tmpfs-mode=zz"}, `invalid argument "type=tmpfs,target=/x,tmpfs-mode=zz" for "--mount" flag: invalid value for tmpfs-mode: zz` + usage},
		{[]string{"--mount", "type=volume,target=/x,readonly=maybe"}, `invalid argument "type=volume,target=/x,readonly=maybe" for "--mount" flag: invalid value for readonly: maybe` + usage},
		{[]string{"--mount", "type=bind,target=/x,bind-recursive=foo"}, `invalid argument "type=bind,target=/x,bind-recursive=foo" for "--mount" flag: invalid value for bind-recursive: foo (must be "enabled", "disabled", "writable", or "readonly")` + usage},
		{[]string{"--shm-size", "x"}, `invalid argument "x" for "--shm-size" flag: invalid size: 'x'` + usage},
		{[]string{"--memory-swap", "x"}, `invalid argument "x" for "--memory-swap" flag: invalid size: 'x'` + usage},
		{[]string{"--memory-reservation", "x"}, `invalid argument "x" for "--memory-reservation" flag: invalid size: 'x'` + usage},
		{[]string{"--cpu-shares", "x"}, `invalid argument "x" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "x": invalid syntax` + usage},
		{[]string{"--oom-score-adj", "x"}, `invalid argument "x" for "--oom-score-adj" flag: strconv.ParseInt: parsing "x": invalid syntax` + usage},
		{[]string{"--health-interval", "x"}, `invalid argument "x" for "--health-interval" flag: time: invalid duration "x"` + usage},
		{[]string{"-a", "foo"}, `invalid argument "foo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR` + usage},
		{[]string{"--health-interval", "-1s"}, "berth: --health-interval cannot be negative" + help},
		{[]string{"--health-timeout", "-1s"}, "berth: --health-timeout cannot be negative" + help},
		{[]string{"--health-retries", "-1"}, "berth: --health-retries cannot be negative" + help},
		{[]string{"--health-start-period", "-1s"}, "berth: --health-start-period cannot be negative" + help},
		{[]string{"--health-start-interval", "-2s"}, "berth: --health-start-interval cannot be negative" + help},
		{[]string{"--no-healthcheck", "--health-cmd", "x"}, "berth: --no-healthcheck conflicts with --health-* options" + help},
		{[]string{"--cgroupns", "foo"}, "berth: --cgroupns: invalid CGROUP mode" + help},
		{[]string{"--pid", "foo"}, "berth: --pid: invalid PID mode" + help},
		{[]string{"--uts", "foo"}, "berth: --uts: invalid UTS mode" + help},
		{[]string{"--log-driver", "none", "--log-opt", "a=b"}, "berth: invalid logging opts for driver none" + help},
		{[]string{"--security-opt", "foo"}, `berth: Invalid --security-opt: "foo"` + help},
		{[]string{"--security-opt", "label"}, `berth: Invalid --security-opt: "label"` + help},
		{[]string{"--security-opt", "seccomp=/nonexistent"}, "berth: opening seccomp profile (/nonexistent) failed: open /nonexistent: no such file or directory" + help},
		{[]string{"--device", "/dev/x:/y:z"}, "berth: bad mode specified: z" + help},
		{[]string{"--device", "/dev/x:y"}, "berth: y is not an absolute path" + help},
		{[]string{"--device", "a:b:c:d"}, "berth: bad format for path: a:b:c:d" + help},
		{[]string{"--expose", "80:90"}, "berth: invalid port format for --expose: 80:90" + help},
		{[]string{"--expose", "80-x"}, `berth: invalid range format for --expose: 80-x, error: strconv.ParseUint: parsing "x": invalid syntax` + help},
		{[]string{"--expose", "x"}, `berth: invalid range format for --expose: x, error: strconv.ParseUint: parsing "x": invalid syntax` + help},
		{[]string{"--userns", "foo"}, "berth: --userns: invalid USER mode" + help},
		{[]string{"--memory-swappiness", "200"}, "berth: invalid value: 200. Valid memory swappiness range is 0-100" + help},
		{[]string{"--label-file", "/nonexistent"}, "berth: open /nonexistent: no such file or directory" + help},
		{[]string{"--cidfile", "/etc/hostname"}, "berth: container ID file found, make sure the other container isn't running or delete /etc/hostname" + help},
		{[]string{"--rm", "--restart", "always"}, "berth: conflicting options: cannot specify both --restart and --rm" + help},
	}
	s := clitest.Start(t, clitest.Sample(now))
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := runIn(t, s, nil, append(append([]string{"create"}, c.args...), "busybox")...)
			if r.code != 125 || r.err != c.want {
				t.Errorf("exit %d\n%s\nwant 125\n%s", r.code, r.err, c.want)
			}
		})
	}
	if n := len(s.Created()); n != 0 {
		t.Fatalf("%d bad creates reached the daemon", n)
	}
}

func TestCreateCIDFile(t *testing.T) {
	s := clitest.Start(t, clitest.Sample(now))
	path := filepath.Join(t.TempDir(), "cid")
	r := runIn(t, s, nil, "create", "--cidfile", path, "busybox")
	data, err := os.ReadFile(path)
	if r.code != 0 || err != nil || string(data)+"\n" != r.out {
		t.Fatalf("exit %d out %q file %q %v", r.code, r.out, data, err)
	}
	if got := s.Created()[0].HostConfig.ContainerIDFile; got != path {
		t.Fatalf("ContainerIDFile %q", got)
	}

	// A failed create leaves no file behind.
	d := clitest.Sample(now)
	d.Errors = map[string]clitest.Failure{"/containers/create": {Status: 404, Message: "No such image: nope"}}
	s = clitest.Start(t, d)
	path = filepath.Join(t.TempDir(), "cid")
	r = runIn(t, s, nil, "create", "--cidfile", path, "nope")
	if _, err := os.Stat(path); r.code != 125 || !os.IsNotExist(err) {
		t.Fatalf("exit %d %q, cidfile: %v", r.code, r.err, err)
	}
}

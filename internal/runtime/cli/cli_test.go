package cli

import (
	"bytes"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	cases := []struct {
		in   string
		want unix.Signal
		bad  bool
	}{
		{"9", unix.SIGKILL, false},
		{"KILL", unix.SIGKILL, false},
		{"SIGTERM", unix.SIGTERM, false},
		{"hup", unix.SIGHUP, false},
		{"0", 0, true},
		{"65", 0, true},
		{"SIGNOPE", 0, true},
		{"", 0, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseSignal(c.in)
			if (err != nil) != c.bad || got != c.want {
				t.Fatalf("parseSignal(%q) = %v, %v", c.in, got, err)
			}
		})
	}
}

func TestFilterPs(t *testing.T) {
	raw := []byte("UID   PID  PPID CMD\nroot    1     0 init\nroot   42     1 sleep\nroot   43     1 other\n")
	var out bytes.Buffer
	if err := filterPs(&out, raw, []int{42}); err != nil {
		t.Fatal(err)
	}
	want := "UID   PID  PPID CMD\nroot   42     1 sleep\n"
	if out.String() != want {
		t.Fatalf("got %q want %q", out.String(), want)
	}
	if err := filterPs(&out, []byte("NOPE\n1\n"), nil); err == nil {
		t.Fatal("no PID column accepted")
	}
}

func TestUpdateFlags(t *testing.T) {
	o := &updateOpts{}
	cmd := o.command(&globalOpts{})
	if err := cmd.ParseFlags([]string{"--memory", "64m", "--cpu-quota", "5000", "--pids-limit", "10", "--memory-swap", "-1", "--cpuset-cpus", "0"}); err != nil {
		t.Fatal(err)
	}
	r, err := o.build(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if *r.Memory.Limit != 64<<20 || *r.CPU.Quota != 5000 || *r.Pids.Limit != 10 || *r.Memory.Swap != -1 || r.CPU.Cpus != "0" {
		t.Fatalf("resources %+v %+v", r.Memory, r.CPU)
	}
	if r.CPU.Shares != nil || r.Memory.Reservation != nil || r.BlockIO != nil {
		t.Fatal("unset flags were set")
	}
	o = &updateOpts{}
	cmd = o.command(&globalOpts{})
	if err := cmd.ParseFlags([]string{"--memory", "lots"}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.build(cmd); err == nil {
		t.Fatal("accepted --memory lots")
	}
}

func TestExecProcessOverrides(t *testing.T) {
	base := &specs.Spec{Process: &specs.Process{Args: []string{"sleep"}, Env: []string{"A=1"}, Cwd: "/"}}
	o := &execOpts{env: []string{"B=2"}, cwd: "/tmp", user: "1000:1001", additionalGID: []int64{5}, tty: true}
	cmd := newExecCommand(&globalOpts{})
	p, err := o.process(base, []string{"echo", "x"}, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Args, " ") != "echo x" || strings.Join(p.Env, " ") != "A=1 B=2" || p.Cwd != "/tmp" ||
		p.User.UID != 1000 || p.User.GID != 1001 || len(p.User.AdditionalGids) != 1 || !p.Terminal {
		t.Fatalf("process %+v", p)
	}
	if base.Process.Cwd != "/" || len(base.Process.Env) != 1 {
		t.Fatal("exec changed the container's own process spec")
	}
	for _, bad := range []execOpts{{user: "x"}, {user: "1:y"}, {additionalGID: []int64{-1}}} {
		if _, err := bad.process(base, []string{"true"}, cmd); err == nil {
			t.Fatalf("accepted %+v", bad)
		}
	}
	if _, err := o.process(base, nil, cmd); err == nil {
		t.Fatal("accepted an empty command")
	}
}

package caps

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestResolve(t *testing.T) {
	bit := func(cs ...capability.Cap) mask {
		var m mask
		for _, c := range cs {
			m |= 1 << uint(c)
		}
		return m
	}
	tests := []struct {
		name         string
		caps         *specs.LinuxCapabilities
		last         capability.Cap
		want         sets
		wantWarnings []string
	}{
		{name: "nil drops everything", caps: nil, last: capability.CAP_CHECKPOINT_RESTORE},
		{
			name: "each set resolved on its own",
			caps: &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Effective:   []string{"CAP_KILL"},
				Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Inheritable: []string{"CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE"},
			},
			last: capability.CAP_CHECKPOINT_RESTORE,
			want: sets{
				bounding:    bit(capability.CAP_CHOWN, capability.CAP_KILL, capability.CAP_NET_BIND_SERVICE),
				effective:   bit(capability.CAP_KILL),
				permitted:   bit(capability.CAP_KILL, capability.CAP_NET_BIND_SERVICE),
				inheritable: bit(capability.CAP_NET_BIND_SERVICE),
				ambient:     bit(capability.CAP_NET_BIND_SERVICE),
			},
		},
		{
			name: "capabilities above 31 land in the high word",
			caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHECKPOINT_RESTORE", "CAP_BPF"}},
			last: capability.CAP_CHECKPOINT_RESTORE,
			want: sets{bounding: 1<<40 | 1<<39},
		},
		{
			name: "unknown names are warned about once and ignored",
			caps: &specs.LinuxCapabilities{
				Bounding:  []string{"CAP_CHOWN", "CAP_TIME_TRAVEL"},
				Effective: []string{"CAP_TIME_TRAVEL", "cap_chown"},
			},
			last: capability.CAP_CHECKPOINT_RESTORE,
			want: sets{bounding: bit(capability.CAP_CHOWN)},
			wantWarnings: []string{
				`unknown capability "CAP_TIME_TRAVEL" ignored`,
				`unknown capability "cap_chown" ignored`,
			},
		},
		{
			name: "capabilities newer than the kernel are warned about and ignored",
			caps: &specs.LinuxCapabilities{
				Bounding:  []string{"CAP_KILL", "CAP_CHECKPOINT_RESTORE", "CAP_BPF"},
				Permitted: []string{"CAP_BPF"},
			},
			last: capability.CAP_AUDIT_READ, // 37: a 5.4 kernel
			want: sets{bounding: bit(capability.CAP_KILL)},
			wantWarnings: []string{
				"capability CAP_CHECKPOINT_RESTORE is not supported by the running kernel (last is CAP_AUDIT_READ), ignored",
				"capability CAP_BPF is not supported by the running kernel (last is CAP_AUDIT_READ), ignored",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings := resolve(tt.caps, tt.last)
			if got != tt.want {
				t.Errorf("sets = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(warnings, tt.wantWarnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.wantWarnings)
			}
		})
	}
}

func TestCheckRejects(t *testing.T) {
	last := capability.CAP_CHECKPOINT_RESTORE
	tests := []struct {
		name    string
		caps    *specs.LinuxCapabilities
		wantSub string
	}{
		{
			name:    "effective not permitted",
			caps:    &specs.LinuxCapabilities{Effective: []string{"CAP_KILL"}},
			wantSub: "CAP_KILL is in the effective set but not in the permitted set",
		},
		{
			name: "ambient not inheritable",
			caps: &specs.LinuxCapabilities{
				Permitted: []string{"CAP_NET_BIND_SERVICE"},
				Ambient:   []string{"CAP_NET_BIND_SERVICE"},
			},
			wantSub: "ambient capability CAP_NET_BIND_SERVICE must also be in the permitted and inheritable sets",
		},
		{
			name: "ambient not permitted",
			caps: &specs.LinuxCapabilities{
				Inheritable: []string{"CAP_NET_RAW"},
				Ambient:     []string{"CAP_NET_RAW"},
			},
			wantSub: "ambient capability CAP_NET_RAW",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := resolve(tt.caps, last)
			err := s.check(last)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("check = %v, want error containing %q", err, tt.wantSub)
			}
		})
	}
	ok := &specs.LinuxCapabilities{
		Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL", "CAP_NET_RAW"},
		Inheritable: []string{"CAP_NET_RAW"}, Ambient: []string{"CAP_NET_RAW"},
	}
	if s, _ := resolve(ok, last); s.check(last) != nil {
		t.Errorf("check rejected a consistent set: %v", s.check(last))
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		caps *specs.LinuxCapabilities
		bad  bool
	}{
		{"nil", nil, false},
		{"known", &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}}, false},
		{"typo", &specs.LinuxCapabilities{Effective: []string{"CAP_TEST"}}, true},
		{"lower case", &specs.LinuxCapabilities{Ambient: []string{"cap_chown"}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Validate(c.caps); (err != nil) != c.bad {
				t.Fatalf("Validate = %v, want error %v", err, c.bad)
			}
		})
	}
}

package image

import (
	"errors"
	"reflect"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	var cfg dockerspec.DockerOCIImageConfig
	err := ApplyChanges(&cfg, []string{
		`CMD ["sh", "-c", "echo hi"]`,
		`ENV A=1 B="two words" C=x\ y`,
		`ENV A 3`,
		`env PATH /bin`,
		`LABEL org.example="v 1" other=2`,
		`EXPOSE 80 53/udp 8000-8010/tcp`,
		`WORKDIR /srv`,
		`WORKDIR app`,
		`USER nobody:nogroup`,
		`VOLUME ["/data", "/logs"]`,
		`VOLUME /cache`,
		`STOPSIGNAL SIGINT`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := dockerspec.DockerOCIImageConfig{}
	want.Cmd = []string{"sh", "-c", "echo hi"}
	want.Env = []string{"A=3", "B=two words", "C=x y", "PATH=/bin"}
	want.Labels = map[string]string{"org.example": "v 1", "other": "2"}
	want.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8000-8010/tcp": {}}
	want.WorkingDir = "/srv/app"
	want.User = "nobody:nogroup"
	want.Volumes = map[string]struct{}{"/data": {}, "/logs": {}, "/cache": {}}
	want.StopSignal = "SIGINT"
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}

	cfg = dockerspec.DockerOCIImageConfig{}
	if err := ApplyChanges(&cfg, []string{"CMD echo hi", "ENTRYPOINT /bin/app --flag"}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Entrypoint, []string{"/bin/sh", "-c", "/bin/app --flag"}) || cfg.Cmd != nil {
		t.Fatalf("shell forms: %+v", cfg)
	}
}

func TestApplyChangesInvalid(t *testing.T) {
	cases := []struct{ name, change string }{
		{"unknown instruction", "RUN rm -rf /"},
		{"from", "FROM scratch"},
		{"no argument", "CMD"},
		{"bad port", "EXPOSE http"},
		{"port zero", "EXPOSE 0"},
		{"port too big", "EXPOSE 70000"},
		{"bad proto", "EXPOSE 80/icmp"},
		{"bad signal", "STOPSIGNAL SIGNOPE"},
		{"signal number", "STOPSIGNAL 99"},
		{"env blank name", "ENV =x"},
		{"env no value", "ENV A"},
		{"label unterminated quote", `LABEL a="b`},
		{"two users", "USER a b"},
		{"volume bad json", `VOLUME ["/a"`},
		{"volume empty", `VOLUME [""]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg dockerspec.DockerOCIImageConfig
			if err := ApplyChanges(&cfg, []string{c.change}); !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("%q: got %v", c.change, err)
			}
		})
	}
}

func TestParseTag(t *testing.T) {
	cases := map[string]string{
		"busybox":                  "docker.io/library/busybox:latest",
		"busybox:1.36":             "docker.io/library/busybox:1.36",
		"me/app":                   "docker.io/me/app:latest",
		"localhost:5000/x:y":       "localhost:5000/x:y",
		"docker.io/library/a:b":    "docker.io/library/a:b",
		"registry.example.com/a/b": "registry.example.com/a/b:latest",
	}
	for in, want := range cases {
		got, err := parseTag(in)
		if err != nil || got.String() != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "UPPER", "a b", "busybox@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "-x"} {
		if _, err := parseTag(bad); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}

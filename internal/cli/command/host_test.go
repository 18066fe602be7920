package command

import "testing"

func TestResolveHost(t *testing.T) {
	cases := []struct {
		name    string
		flags   []string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{"default", nil, nil, "unix:///run/berth/berth.sock", false},
		{"DOCKER_HOST", nil, map[string]string{"DOCKER_HOST": "unix:///d.sock"}, "unix:///d.sock", false},
		{"BERTH_HOST beats DOCKER_HOST", nil, map[string]string{"BERTH_HOST": "unix:///b.sock", "DOCKER_HOST": "unix:///d.sock"}, "unix:///b.sock", false},
		{"-H beats both", []string{"unix:///h.sock"}, map[string]string{"BERTH_HOST": "unix:///b.sock", "DOCKER_HOST": "unix:///d.sock"}, "unix:///h.sock", false},
		{"bare path", []string{"/tmp/x.sock"}, nil, "unix:///tmp/x.sock", false},
		{"empty unix means default", []string{"unix://"}, nil, "unix:///run/berth/berth.sock", false},
		{"tcp", nil, map[string]string{"BERTH_HOST": "tcp://127.0.0.1:2375"}, "tcp://127.0.0.1:2375", false},
		{"host:port", []string{"127.0.0.1:2375"}, nil, "tcp://127.0.0.1:2375", false},
		{"two -H", []string{"unix:///a", "unix:///b"}, nil, "", true},
		{"unknown scheme", []string{"fd://"}, nil, "", true},
		{"tcp without host", []string{"tcp://"}, nil, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ResolveHost(c.flags, func(k string) string { return c.env[k] })
			if (err != nil) != c.wantErr || got != c.want {
				t.Fatalf("got %q, %v; want %q (error %v)", got, err, c.want, c.wantErr)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	if s := (StatusError{Status: "exit", StatusCode: 3}).Error(); s != "exit, StatusCode: 3" {
		t.Fatal(s)
	}
}

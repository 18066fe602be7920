package daemon

import (
	"errors"
	"strings"
	"testing"

	registrytypes "github.com/moby/moby/api/types/registry"

	"github.com/berth-engine/berth/internal/errdefs"
)

func TestPullRef(t *testing.T) {
	cases := []struct {
		name, image, tag, want string
		all                    bool
		bad                    bool
	}{
		{"tag", "busybox", "1.36", "docker.io/library/busybox:1.36", false, false},
		{"digest", "127.0.0.1:5000/a/b", "sha256:" + strings.Repeat("a", 64), "127.0.0.1:5000/a/b@sha256:" + strings.Repeat("a", 64), false, false},
		{"no tag: every tag", "busybox", "", "docker.io/library/busybox", true, false},
		{"tag in the name", "busybox:1", "", "docker.io/library/busybox:1", false, false},
		{"upper case", "BusyBox", "1", "", false, true},
		{"bad tag", "busybox", "bad:tag", "", false, true},
		{"empty", "", "", "", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, all, err := pullRef(c.image, c.tag)
			if c.bad {
				if !errors.Is(err, errdefs.ErrInvalidParameter) {
					t.Fatalf("err %v, want invalid parameter", err)
				}
				return
			}
			if err != nil || n.String() != c.want || all != c.all {
				t.Fatalf("got %v %v %v, want %s %v", n, all, err, c.want, c.all)
			}
		})
	}
}

func TestRegistryAuth(t *testing.T) {
	a := registryAuth(registrytypes.AuthConfig{Auth: "dTpwOng="}) // u:p:x
	if a.Username != "u" || a.Password != "p:x" {
		t.Fatalf("legacy auth field: %+v", a)
	}
	a = registryAuth(registrytypes.AuthConfig{Username: "v", Password: "q", Auth: "dTpwOng="})
	if a.Username != "v" || a.Password != "q" {
		t.Fatalf("user and password win: %+v", a)
	}
	if a := registryAuth(registrytypes.AuthConfig{Auth: "!!"}); a.Username != "" {
		t.Fatalf("bad auth field: %+v", a)
	}
}

func TestProgressBar(t *testing.T) {
	if got := progressBar(65536, 4211241); got != "[>"+strings.Repeat(" ", 50)+"]  65.54kB/4.211MB" {
		t.Fatalf("%q", got)
	}
	if got := progressBar(4211241, 4211241); got != "["+strings.Repeat("=", 50)+">]  4.211MB/4.211MB" {
		t.Fatalf("%q", got)
	}
	if progressBar(1, 0) != "" {
		t.Fatal("bar without a total")
	}
}

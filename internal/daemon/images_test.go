package daemon

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	imagetypes "github.com/moby/moby/api/types/image"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/image"
)

func TestImageError(t *testing.T) {
	cases := []struct {
		name  string
		in    error
		class error
	}{
		{"not found", fmt.Errorf("x: %w", image.ErrNotFound), errdefs.ErrNotFound},
		{"conflict", image.ErrConflict, errdefs.ErrConflict},
		{"invalid", image.ErrInvalidParameter, errdefs.ErrInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := imageError(c.in)
			if !errors.Is(got, c.class) || got.Error() != c.in.Error() {
				t.Fatalf("imageError(%v) = %v", c.in, got)
			}
		})
	}
	if imageError(nil) != nil {
		t.Fatal("imageError(nil) != nil")
	}
	other := errors.New("disk on fire")
	if got := imageError(other); got != other {
		t.Fatalf("unclassed error changed: %v", got)
	}
}

func TestJoinRef(t *testing.T) {
	cases := []struct {
		name, repo, tag, want string
		bad                   bool
	}{
		{name: "repo only", repo: "busybox:latest", want: "busybox:latest"},
		{name: "empty", want: ""},
		{name: "tag joins", repo: "busybox", tag: "1", want: "busybox:1"},
		{name: "tag replaces", repo: "example.com/a/b:old", tag: "new", want: "example.com/a/b:new"},
		{name: "bad repo", repo: "Bad", tag: "1", bad: true},
		{name: "bad tag", repo: "busybox", tag: "a b", bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := joinRef(c.repo, c.tag)
			if c.bad {
				if !errors.Is(err, errdefs.ErrInvalidParameter) {
					t.Fatalf("joinRef(%q, %q) = %q, %v; want invalid parameter", c.repo, c.tag, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("joinRef(%q, %q) = %q, %v; want %q", c.repo, c.tag, got, err, c.want)
			}
		})
	}
}

func TestFilterImages(t *testing.T) {
	all := []imagetypes.Summary{
		{ID: "sha256:c", Created: 30, RepoTags: []string{"busybox:latest", "mybox:1"}, Labels: map[string]string{"a": "1"}},
		{ID: "sha256:b", Created: 20, RepoTags: []string{"example.com/team/tool:v2"}, Labels: map[string]string{}},
		{ID: "sha256:a", Created: 10, RepoTags: []string{}, Labels: map[string]string{"a": "2"}},
	}
	created := func(name string) (int64, error) {
		for _, s := range all {
			if s.ID == name || slices.Contains(s.RepoTags, name) {
				return s.Created, nil
			}
		}
		return 0, errdefs.New(errdefs.ErrNotFound, "No such image: "+name)
	}
	cases := []struct {
		name    string
		filters map[string][]string
		want    []string // ID:tags
		class   error
	}{
		{"none", nil, []string{"sha256:c", "sha256:b", "sha256:a"}, nil},
		{"dangling", map[string][]string{"dangling": {"true"}}, []string{"sha256:a"}, nil},
		{"not dangling", map[string][]string{"dangling": {"0"}}, []string{"sha256:c", "sha256:b"}, nil},
		{"reference name", map[string][]string{"reference": {"mybox"}}, []string{"sha256:c"}, nil},
		{"reference glob", map[string][]string{"reference": {"example.com/*/*"}}, []string{"sha256:b"}, nil},
		{"label key", map[string][]string{"label": {"a"}}, []string{"sha256:c", "sha256:a"}, nil},
		{"label value", map[string][]string{"label": {"a=2"}}, []string{"sha256:a"}, nil},
		{"before", map[string][]string{"before": {"busybox:latest"}}, []string{"sha256:b", "sha256:a"}, nil},
		{"since", map[string][]string{"since": {"sha256:a"}}, []string{"sha256:c", "sha256:b"}, nil},
		{"unknown filter", map[string][]string{"until": {"1h"}}, nil, errdefs.ErrInvalidParameter},
		{"bad dangling", map[string][]string{"dangling": {"maybe"}}, nil, errdefs.ErrInvalidParameter},
		{"bad pattern", map[string][]string{"reference": {"["}}, nil, errdefs.ErrInvalidParameter},
		{"before unknown", map[string][]string{"before": {"nope"}}, nil, errdefs.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := filterImages(all, c.filters, created)
			if c.class != nil {
				if !errors.Is(err, c.class) {
					t.Fatalf("err = %v; want class %v", err, c.class)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range got {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Fatalf("got %v; want %v", ids, c.want)
			}
		})
	}
	got, _ := filterImages(all, map[string][]string{"reference": {"mybox:*"}}, created)
	if len(got) != 1 || !slices.Equal(got[0].RepoTags, []string{"mybox:1"}) {
		t.Fatalf("reference filter should keep only matching tags: %+v", got)
	}
}

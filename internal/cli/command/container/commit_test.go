package container

import (
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
)

func TestCommit(t *testing.T) {
	var gotID string
	var got client.ContainerCommitOptions
	fake := &clitest.FakeClient{ContainerCommitFunc: func(id string, o client.ContainerCommitOptions) (client.ContainerCommitResult, error) {
		gotID, got = id, o
		return client.ContainerCommitResult{ID: "sha256:abc"}, nil
	}}
	out, _, err := execute(t, fake, nil, "commit", "-a", "me", "-m", "msg", "-c", "ENV A=1", "--change", `CMD ["sh"]`, "-p=false", "web", "repo:1")
	if err != nil || out != "sha256:abc\n" {
		t.Fatalf("out %q err %v", out, err)
	}
	if gotID != "web" || got.Reference != "repo:1" || got.Author != "me" || got.Comment != "msg" || !got.NoPause || strings.Join(got.Changes, "|") != `ENV A=1|CMD ["sh"]` {
		t.Fatalf("id %q opts %+v", gotID, got)
	}
	if _, _, err := execute(t, fake, nil, "commit", "web"); err != nil || got.NoPause || got.Reference != "" {
		t.Fatalf("defaults: %v %+v", err, got)
	}
	if _, _, err := execute(t, fake, nil, "commit"); err == nil {
		t.Fatal("commit with no container ran")
	}
}

package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

// regFake adds pull and push to the fake client.
type regFake struct {
	*clitest.FakeClient
	ref    string
	pull   client.ImagePullOptions
	push   client.ImagePushOptions
	stream string
}

type streamResp struct{ io.ReadCloser }

func (streamResp) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] { return nil }
func (streamResp) Wait(context.Context) error                                        { return nil }

func (f *regFake) ImagePull(_ context.Context, ref string, o client.ImagePullOptions) (client.ImagePullResponse, error) {
	f.ref, f.pull = ref, o
	return streamResp{io.NopCloser(strings.NewReader(f.stream))}, nil
}

func (f *regFake) ImagePush(_ context.Context, ref string, o client.ImagePushOptions) (client.ImagePushResponse, error) {
	f.ref, f.push = ref, o
	return streamResp{io.NopCloser(strings.NewReader(f.stream))}, nil
}

func executeReg(t *testing.T, fake *regFake, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cli := command.NewCli(&out, &errb, func(string) string { return "" })
	cli.NewClient = func(string) (command.APIClient, error) { return fake, nil }
	cmd := NewImageCommand(cli)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestPullPush(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	auth := base64.StdEncoding.EncodeToString([]byte("u:p"))
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"127.0.0.1:5000":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stream := `{"status":"Pulling from test/bb","id":"1"}` + "\n" + `{"status":"Pull complete","progressDetail":{},"id":"abc"}` + "\n" + `{"status":"Digest: sha256:1"}` + "\n"
	fake := &regFake{FakeClient: &clitest.FakeClient{}, stream: stream}
	out, err := executeReg(t, fake, "pull", "--platform", "linux/arm64", "127.0.0.1:5000/test/bb:1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "1: Pulling from test/bb\nabc: Pull complete\nDigest: sha256:1\n127.0.0.1:5000/test/bb:1\n"; out != want {
		t.Fatalf("pull output %q, want %q", out, want)
	}
	if fake.ref != "127.0.0.1:5000/test/bb:1" || len(fake.pull.Platforms) != 1 || fake.pull.Platforms[0].Architecture != "arm64" {
		t.Fatalf("pull request: %s %+v", fake.ref, fake.pull)
	}
	var sent registry.AuthConfig
	b, _ := base64.URLEncoding.DecodeString(fake.pull.RegistryAuth)
	if json.Unmarshal(b, &sent) != nil || sent.Username != "u" || sent.Password != "p" {
		t.Fatalf("X-Registry-Auth %q", b)
	}
	// Docker Hub's credentials are not sent to another registry, and a
	// name without a tag gets latest.
	out, err = executeReg(t, fake, "pull", "-q", "busybox")
	if err != nil || out != "docker.io/library/busybox:latest\n" || fake.ref != "busybox:latest" {
		t.Fatalf("pull -q: %q %v %s", out, err, fake.ref)
	}
	b, _ = base64.URLEncoding.DecodeString(fake.pull.RegistryAuth)
	sent = registry.AuthConfig{}
	if json.Unmarshal(b, &sent) != nil || sent.Username != "" {
		t.Fatalf("busybox got credentials: %q", b)
	}
	if _, err := executeReg(t, fake, "pull", "-a", "busybox:1"); err == nil || !strings.Contains(err.Error(), "tag can't be used with --all-tags/-a") {
		t.Fatalf("pull -a with a tag: %v", err)
	}
	fake.stream = `{"status":"Preparing","progressDetail":{},"id":"abc"}` + "\n" + `{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}` + "\n"
	if _, err := executeReg(t, fake, "push", "127.0.0.1:5000/test/bb:1"); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("push with an error in the stream: %v", err)
	}
	if fake.ref != "127.0.0.1:5000/test/bb:1" || fake.push.RegistryAuth == "" {
		t.Fatalf("push request: %s %+v", fake.ref, fake.push)
	}
}

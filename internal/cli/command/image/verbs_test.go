package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

func execute(t *testing.T, fake *clitest.FakeClient, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cli := command.NewCli(&out, &errb, func(string) string { return "" })
	cli.In = strings.NewReader(stdin)
	cli.Clock = func() time.Time { return time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC) }
	cli.NewClient = func(string) (command.APIClient, error) { return fake, nil }
	cmd := NewImageCommand(cli)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestImport(t *testing.T) {
	var body, ref string
	var opts client.ImageImportOptions
	fake := &clitest.FakeClient{ImageImportFunc: func(src client.ImageImportSource, r string, o client.ImageImportOptions) (client.ImageImportResult, error) {
		b, _ := io.ReadAll(src.Source)
		body, ref, opts = string(b), r, o
		return io.NopCloser(strings.NewReader(`{"status":"sha256:abc"}` + "\n")), nil
	}}
	out, err := execute(t, fake, "TARBALL", "import", "-c", `CMD ["sh"]`, "--change", "ENV A=b", "-m", "hello", "-", "busybox:latest")
	if err != nil || out != "sha256:abc\n" {
		t.Fatalf("out %q err %v", out, err)
	}
	if body != "TARBALL" || ref != "busybox:latest" || opts.Message != "hello" || len(opts.Changes) != 2 || opts.Changes[1] != "ENV A=b" {
		t.Fatalf("body %q ref %q opts %+v", body, ref, opts)
	}
	fake.ImageImportFunc = func(client.ImageImportSource, string, client.ImageImportOptions) (client.ImageImportResult, error) {
		return io.NopCloser(strings.NewReader(`{"errorDetail":{"message":"bad tar"},"error":"bad tar"}`)), nil
	}
	if _, err := execute(t, fake, "x", "import", "-"); err == nil || err.Error() != "bad tar" {
		t.Fatalf("stream error: %v", err)
	}
}

func TestRemoveAndTag(t *testing.T) {
	var opts client.ImageRemoveOptions
	fake := &clitest.FakeClient{
		ImageRemoveFunc: func(ref string, o client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
			if ref == "nope" {
				return client.ImageRemoveResult{}, errors.New("Error response from daemon: No such image: nope:latest")
			}
			opts = o
			return client.ImageRemoveResult{Items: []image.DeleteResponse{{Untagged: "busybox:latest"}, {Deleted: "sha256:abc"}}}, nil
		},
	}
	out, err := execute(t, fake, "", "rm", "-f", "--no-prune", "busybox", "nope")
	var se command.StatusError
	if out != "Untagged: busybox:latest\nDeleted: sha256:abc\n" || !errors.As(err, &se) || se.StatusCode != 1 || !opts.Force || opts.PruneChildren {
		t.Fatalf("out %q err %v opts %+v", out, err, opts)
	}
	var tag client.ImageTagOptions
	fake.ImageTagFunc = func(o client.ImageTagOptions) (client.ImageTagResult, error) {
		tag = o
		return client.ImageTagResult{}, nil
	}
	if out, err := execute(t, fake, "", "tag", "a", "b:1"); err != nil || out != "" || tag.Source != "a" || tag.Target != "b:1" {
		t.Fatalf("tag: %q %v %+v", out, err, tag)
	}
	if _, err := execute(t, fake, "", "tag", "a"); err == nil {
		t.Fatal("tag with one argument succeeded")
	}
}

func TestHistoryGolden(t *testing.T) {
	fake := &clitest.FakeClient{ImageHistoryFunc: func(string) (client.ImageHistoryResult, error) {
		return client.ImageHistoryResult{Items: []image.HistoryResponseItem{
			{ID: "sha256:" + strings.Repeat("ab", 32), Created: time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC).Unix(),
				CreatedBy: "/bin/sh -c #(nop)\tCMD [\"sh\"] and a very long tail that gets cut", Size: 2140000, Comment: "Imported from -"},
			{ID: "<missing>", Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Unix(), Size: 0},
		}}, nil
	}}
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"history.golden", []string{"history", "busybox"}},
		{"history-notrunc.golden", []string{"history", "--no-trunc", "--human=false", "busybox"}},
		{"history-q.golden", []string{"history", "-q", "busybox"}},
		{"history-format.golden", []string{"history", "--format", "{{.ID}}|{{.Size}}|{{.Comment}}", "busybox"}},
	} {
		out, err := execute(t, fake, "", c.args...)
		if err != nil {
			t.Fatal(err)
		}
		clitest.Golden(t, c.golden, out)
	}
}

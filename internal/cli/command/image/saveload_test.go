package image

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/clitest"
)

func TestSaveLoad(t *testing.T) {
	var saved []string
	var loaded string
	fake := &clitest.FakeClient{
		ImageSaveFunc: func(images []string) (client.ImageSaveResult, error) {
			saved = images
			return io.NopCloser(strings.NewReader("TAR")), nil
		},
		ImageLoadFunc: func(in io.Reader) (client.ImageLoadResult, error) {
			b, _ := io.ReadAll(in)
			loaded = string(b)
			return io.NopCloser(strings.NewReader(`{"stream":"Loaded image: busybox:latest\n"}` + "\n" + `{"stream":"Loaded image ID: sha256:abc\n"}`)), nil
		},
	}
	out, err := execute(t, fake, "", "save", "busybox", "alpine:3")
	if err != nil || out != "TAR" || strings.Join(saved, " ") != "busybox alpine:3" {
		t.Fatalf("save: out %q err %v images %v", out, err, saved)
	}
	file := filepath.Join(t.TempDir(), "img.tar")
	if out, err := execute(t, fake, "", "save", "-o", file, "busybox"); err != nil || out != "" {
		t.Fatalf("save -o: out %q err %v", out, err)
	}
	if b, _ := os.ReadFile(file); string(b) != "TAR" {
		t.Fatalf("file has %q", b)
	}
	out, err = execute(t, fake, "", "load", "-i", file)
	if err != nil || loaded != "TAR" || out != "Loaded image: busybox:latest\nLoaded image ID: sha256:abc\n" {
		t.Fatalf("load: out %q err %v body %q", out, err, loaded)
	}
	if _, err := execute(t, fake, "STDIN", "load", "-q"); err != nil || loaded != "STDIN" {
		t.Fatalf("load from stdin: err %v body %q", err, loaded)
	}
}

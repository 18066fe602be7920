package shimapi

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestExitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exit")
	if _, err := ReadExitFile(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing exit file: %v, want ErrNotExist", err)
	}
	want := Exit{Code: 137, At: time.Date(2026, 12, 4, 18, 0, 0, 42, time.UTC)}
	if err := WriteExitFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExitFile(path)
	if err != nil || got.Code != want.Code || !got.At.Equal(want.At) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temp file left behind")
	}
	os.WriteFile(path, []byte("{half"), 0o600)
	if _, err := ReadExitFile(path); err == nil {
		t.Fatal("corrupt exit file read without error")
	}
}

func TestErrorKinds(t *testing.T) {
	err := fmt.Errorf("stop: %w", &Error{Kind: ErrKindRunning, Msg: "container x is running"})
	if !errors.Is(err, &Error{Kind: ErrKindRunning}) {
		t.Error("kind not matched through wrapping")
	}
	if errors.Is(err, &Error{Kind: ErrKindNotRunning}) {
		t.Error("other kind matched")
	}
}

func TestPaths(t *testing.T) {
	if got := SocketPath("/run/berth", "abc"); got != "/run/berth/shims/abc/shim.sock" {
		t.Errorf("socket %s", got)
	}
	if got := ExitPath("/run/berth", "abc"); got != "/run/berth/shims/abc/exit" {
		t.Errorf("exit %s", got)
	}
}

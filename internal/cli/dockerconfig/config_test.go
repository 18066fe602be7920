package dockerconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
)

func TestAuthsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	// Other keys of the file survive a rewrite.
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"psFormat":"table {{.ID}}","auths":{"old:1":{"auth":"dTpw"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Get("old:1"); got.Username != "u" || got.Password != "p" {
		t.Fatalf("old:1: %+v", got)
	}
	if err := f.Store("127.0.0.1:5000", registry.AuthConfig{Username: "berth", Password: "pa:ss"}); err != nil {
		t.Fatal(err)
	}
	f, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Get("127.0.0.1:5000"); got.Username != "berth" || got.Password != "pa:ss" {
		t.Fatalf("stored: %+v", got)
	}
	if had, err := f.Erase("127.0.0.1:5000"); !had || err != nil {
		t.Fatalf("erase: %v %v", had, err)
	}
	if had, _ := f.Erase("127.0.0.1:5000"); had {
		t.Fatal("erased twice")
	}
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(string(data), `"psFormat"`) || strings.Contains(string(data), "127.0.0.1:5000") {
		t.Fatalf("config.json: %s", data)
	}
	if st, _ := os.Stat(filepath.Join(dir, "config.json")); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
}

func TestCredentialHelper(t *testing.T) {
	bin := t.TempDir()
	store := filepath.Join(t.TempDir(), "secrets")
	// A helper speaking docker-credential-helpers' protocol, keeping one
	// secret in a file.
	script := `#!/bin/sh
case "$1" in
store) cat > ` + store + ` ;;
get) read server; if [ -f ` + store + ` ]; then cat ` + store + `; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) rm -f ` + store + ` ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-test"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credHelpers":{"reg:1":"test"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("reg:1"); err != nil || got.Username != "" {
		t.Fatalf("before store: %+v %v", got, err)
	}
	if err := f.Store("reg:1", registry.AuthConfig{Username: "u", Password: "secret"}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("reg:1"); err != nil || got.Username != "u" || got.Password != "secret" {
		t.Fatalf("from helper: %+v %v", got, err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if strings.Contains(string(data), "secret") {
		t.Fatalf("the secret went into config.json: %s", data)
	}
	if had, err := f.Erase("reg:1"); !had || err != nil {
		t.Fatalf("erase: %v %v", had, err)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Fatal("helper still holds the secret")
	}
}

func TestServerKey(t *testing.T) {
	for in, want := range map[string]string{
		"": IndexServer, "docker.io": IndexServer, "index.docker.io": IndexServer,
		"127.0.0.1:5000": "127.0.0.1:5000", "registry.example:443": "registry.example:443",
	} {
		if got := ServerKey(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

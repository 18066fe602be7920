package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/registry"
)

// IndexServer is the key Docker Hub's credentials are kept under.
const IndexServer = "https://index.docker.io/v1/"

// File is a loaded config.json.
type File struct {
	path string
	raw  map[string]json.RawMessage // every key, kept for rewriting
	// Auths are the credentials kept in the file, by server.
	Auths       map[string]authEntry
	CredsStore  string
	CredHelpers map[string]string
}

type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// Dir is the docker CLI's config directory: $DOCKER_CONFIG, else
// ~/.docker.
func Dir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".docker")
}

// Load reads dir/config.json; a missing file is an empty config.
func Load(dir string) (*File, error) {
	f := &File{path: filepath.Join(dir, "config.json"), raw: map[string]json.RawMessage{}, Auths: map[string]authEntry{}, CredHelpers: map[string]string{}}
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(data, &f.raw); err != nil {
		return nil, fmt.Errorf("loading config file %s: %w", f.path, err)
	}
	for k, dst := range map[string]any{"auths": &f.Auths, "credsStore": &f.CredsStore, "credHelpers": &f.CredHelpers} {
		if v, ok := f.raw[k]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return nil, fmt.Errorf("loading config file %s: %s: %w", f.path, k, err)
			}
		}
	}
	if f.Auths == nil {
		f.Auths = map[string]authEntry{}
	}
	return f, nil
}

// ServerKey is the key credentials for a reference's domain are kept
// under: Docker Hub's index URL for docker.io, else the domain.
func ServerKey(domain string) string {
	switch domain {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", IndexServer, "https://index.docker.io", "index.docker.io/v1/":
		return IndexServer
	}
	return domain
}

// helper returns the credential helper for server, or "".
func (f *File) helper(server string) string {
	if h := f.CredHelpers[server]; h != "" {
		return h
	}
	return f.CredsStore
}

// helperMessage is the credential helpers' JSON.
type helperMessage struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

func runHelper(name, action string, in []byte) ([]byte, error) {
	cmd := exec.Command("docker-credential-"+name, action)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stdout.String() + " " + stderr.String())
		return nil, fmt.Errorf("docker-credential-%s %s: %v: %s", name, action, err, msg)
	}
	return stdout.Bytes(), nil
}

// Get returns the credentials kept for server (a ServerKey); empty ones
// when there are none.
func (f *File) Get(server string) (registry.AuthConfig, error) {
	cfg := registry.AuthConfig{ServerAddress: server}
	if h := f.helper(server); h != "" {
		out, err := runHelper(h, "get", []byte(server))
		if err != nil {
			if strings.Contains(err.Error(), "credentials not found") {
				return cfg, nil
			}
			return cfg, err
		}
		var m helperMessage
		if err := json.Unmarshal(out, &m); err != nil {
			return cfg, fmt.Errorf("docker-credential-%s get: %w", h, err)
		}
		if m.Username == "<token>" {
			cfg.IdentityToken = m.Secret
		} else {
			cfg.Username, cfg.Password = m.Username, m.Secret
		}
		return cfg, nil
	}
	e, ok := f.Auths[server]
	if !ok {
		return cfg, nil
	}
	if e.Auth != "" {
		b, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			return cfg, fmt.Errorf("invalid auth for %s in %s: %w", server, f.path, err)
		}
		u, p, ok := strings.Cut(string(b), ":")
		if !ok {
			return cfg, fmt.Errorf("invalid auth for %s in %s", server, f.path)
		}
		cfg.Username, cfg.Password = u, p
	}
	cfg.IdentityToken = e.IdentityToken
	return cfg, nil
}

// Has reports whether credentials for server are kept in the file or
// named there for a helper.
func (f *File) Has(server string) bool {
	_, ok := f.Auths[server]
	return ok
}

// Store keeps cfg for server, in its helper when there is one.
func (f *File) Store(server string, cfg registry.AuthConfig) error {
	if h := f.helper(server); h != "" {
		m := helperMessage{ServerURL: server, Username: cfg.Username, Secret: cfg.Password}
		if cfg.IdentityToken != "" {
			m.Username, m.Secret = "<token>", cfg.IdentityToken
		}
		in, _ := json.Marshal(m)
		if _, err := runHelper(h, "store", in); err != nil {
			return err
		}
		f.Auths[server] = authEntry{}
		return f.save()
	}
	e := authEntry{IdentityToken: cfg.IdentityToken}
	if cfg.IdentityToken == "" {
		e.Auth = base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))
	}
	f.Auths[server] = e
	return f.save()
}

// Erase forgets server's credentials; false when none were kept.
func (f *File) Erase(server string) (bool, error) {
	had := f.Has(server)
	if h := f.helper(server); h != "" {
		if _, err := runHelper(h, "erase", []byte(server)); err != nil && !strings.Contains(err.Error(), "credentials not found") {
			return had, err
		}
	}
	if !had {
		return false, nil
	}
	delete(f.Auths, server)
	return true, f.save()
}

// save rewrites the file (0600, by rename), keeping its other keys.
func (f *File) save() error {
	auths, _ := json.Marshal(f.Auths)
	f.raw["auths"] = auths
	data, err := json.MarshalIndent(f.raw, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".config.json-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.path)
}

// EncodeAuth is the X-Registry-Auth header value for cfg.
func EncodeAuth(cfg registry.AuthConfig) string {
	data, _ := json.Marshal(cfg)
	return base64.URLEncoding.EncodeToString(data)
}

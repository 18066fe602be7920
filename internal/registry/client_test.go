package registry

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-engine/berth/internal/errdefs"
)

// authRegistry puts go-containerregistry's in-memory registry behind
// basic auth, or behind bearer tokens from its own /token endpoint.
func authRegistry(t *testing.T, bearer bool) (host string) {
	t.Helper()
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			u, p, ok := r.BasicAuth()
			if !ok || u != "u" || p != "pw" {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
				return
			}
			w.Write([]byte(`{"token":"tok-` + strings.Join(r.URL.Query()["scope"], "+") + `"}`))
			return
		}
		authz := r.Header.Get("Authorization")
		ok := false
		if bearer {
			ok = strings.HasPrefix(authz, "Bearer tok-")
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test"`)
		} else {
			u, p, has := r.BasicAuth()
			ok = has && u == "u" && p == "pw"
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		}
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		w.Header().Del("WWW-Authenticate")
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestAuth(t *testing.T) {
	for _, bearer := range []bool{false, true} {
		t.Run(map[bool]string{false: "basic", true: "bearer"}[bearer], func(t *testing.T) {
			ctx := context.Background()
			host := authRegistry(t, bearer)
			c, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Login(ctx, host, Auth{Username: "u", Password: "pw"}); err != nil {
				t.Fatalf("login: %v", err)
			}
			err = c.Login(ctx, host, Auth{Username: "u", Password: "nope"})
			if !errors.Is(err, errdefs.ErrUnauthorized) || !strings.Contains(err.Error(), "401 Unauthorized") {
				t.Fatalf("login with a wrong password: %v", err)
			}
			// Push a blob and a manifest, read them back.
			img, _ := random.Image(512, 1)
			n, _ := reference.ParseNormalizedNamed(host + "/a/b:1")
			repo, err := c.Repository(ctx, n, Auth{Username: "u", Password: "pw"}, true)
			if err != nil {
				t.Fatal(err)
			}
			layers, _ := img.Layers()
			ld, _ := layers[0].Digest()
			lsize, _ := layers[0].Size()
			rc, _ := layers[0].Compressed()
			defer rc.Close()
			if err := repo.PutBlob(ctx, toDigest(ld.String()), lsize, rc); err != nil {
				t.Fatal(err)
			}
			if ok, err := repo.BlobExists(ctx, toDigest(ld.String())); err != nil || !ok {
				t.Fatalf("blob exists: %v %v", ok, err)
			}
			cfg, _ := img.RawConfigFile()
			cd, _ := img.ConfigName()
			if err := repo.PutBlob(ctx, toDigest(cd.String()), int64(len(cfg)), strings.NewReader(string(cfg))); err != nil {
				t.Fatal(err)
			}
			raw, _ := img.RawManifest()
			mt, _ := img.MediaType()
			if _, err := repo.PutManifest(ctx, "1", string(mt), raw); err != nil {
				t.Fatal(err)
			}
			m, err := repo.Manifest(ctx, "1")
			if err != nil || string(m.Data) != string(raw) || m.MediaType != string(mt) {
				t.Fatalf("manifest: %v %q", err, m.MediaType)
			}
			if tags, err := repo.Tags(ctx); err != nil || len(tags) != 1 || tags[0] != "1" {
				t.Fatalf("tags: %v %v", tags, err)
			}
			_, err = c.Repository(ctx, n, Auth{Username: "u", Password: "bad"}, false)
			if bearer && !errors.Is(err, errdefs.ErrUnauthorized) {
				t.Fatalf("repository with bad credentials: %v", err)
			}
			if !bearer {
				r, err := c.Repository(ctx, n, Auth{}, false)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.Manifest(ctx, "1"); !errors.Is(err, errdefs.ErrUnauthorized) {
					t.Fatalf("manifest without credentials: %v", err)
				}
			}
		})
	}
}

func TestMissingManifest(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(100, 1)
	r, _ := name.ParseReference(host + "/x/y:1")
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	c, _ := New(Options{})
	n, _ := reference.ParseNormalizedNamed(host + "/x/y")
	repo, err := c.Repository(context.Background(), n, Auth{}, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.Manifest(context.Background(), "nope")
	var re *Error
	if !errors.As(err, &re) || !re.Has("MANIFEST_UNKNOWN") || !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("missing manifest: %v", err)
	}
}

func TestParseChallenge(t *testing.T) {
	cases := []struct {
		in, scheme, realm, service, scope string
	}{
		{`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`, "bearer", "https://auth.example/token", "registry.example", "repository:a/b:pull"},
		{`Basic realm="Registry Realm"`, "basic", "Registry Realm", "", ""},
		{`bearer realm=https://x/t, service=s`, "bearer", "https://x/t", "s", ""},
		{`Bearer realm="a\"b"`, "bearer", `a"b`, "", ""},
		{``, "", "", "", ""},
	}
	for _, c := range cases {
		s, p := parseChallenge(c.in)
		if s != c.scheme || p["realm"] != c.realm || p["service"] != c.service || p["scope"] != c.scope {
			t.Errorf("%q: %q %v", c.in, s, p)
		}
	}
}

func TestInsecure(t *testing.T) {
	c, err := New(Options{Insecure: []string{"10.1.0.0/16", "myreg:5000", "http://other:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.9.9.9": true, "[::1]:5000": true, "localhost:5000": true,
		"10.1.2.3:443": true, "10.2.0.1": false, "myreg:5000": true, "other:1": true,
	} {
		if got := c.IsInsecure(host); got != want {
			t.Errorf("%s: insecure %v, want %v", host, got, want)
		}
	}
	for _, bad := range [][]string{{"10.0.0.0/99"}, nil} {
		if bad == nil {
			if _, err := New(Options{Mirrors: []string{"not a url"}}); err == nil {
				t.Error("bad mirror accepted")
			}
			continue
		}
		if _, err := New(Options{Insecure: bad}); !errors.Is(err, errdefs.ErrInvalidParameter) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// TestMirror: a docker.io repository is read from the configured mirror.
func TestMirror(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(100, 1)
	r, _ := name.ParseReference(host + "/library/busybox:1")
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Mirrors: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := reference.ParseNormalizedNamed("busybox")
	repo, err := c.Repository(context.Background(), n, Auth{}, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.Manifest(context.Background(), "1")
	want, _ := img.Digest()
	if err != nil || m.Digest.String() != want.String() {
		t.Fatalf("manifest from the mirror: %v %s", err, m.Digest)
	}
}

// TestTokenRefresh: a bearer token the registry stops accepting is
// fetched again once.
func TestTokenRefresh(t *testing.T) {
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var gen, fetched int
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			fetched++
			w.Write([]byte(`{"token":"gen-` + string(rune('0'+gen)) + `"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer gen-"+string(rune('0'+gen)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c, _ := New(Options{})
	n, _ := reference.ParseNormalizedNamed(host + "/a/b")
	repo, err := c.Repository(context.Background(), n, Auth{}, false)
	if err != nil {
		t.Fatal(err)
	}
	// The repository is empty: any answer but unauthorized will do.
	if _, err := repo.Tags(context.Background()); errors.Is(err, errdefs.ErrUnauthorized) {
		t.Fatalf("tags with a fresh token: %v", err)
	}
	gen++ // the token expires
	if _, err := repo.Tags(context.Background()); errors.Is(err, errdefs.ErrUnauthorized) {
		t.Fatalf("tags after expiry: %v", err)
	}
	if fetched != 2 {
		t.Fatalf("token fetched %d times, want 2", fetched)
	}
}

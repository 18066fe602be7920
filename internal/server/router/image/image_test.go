package image

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/registry"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server"
)

// fakeBackend records the last call's arguments.
type fakeBackend struct {
	got     []string
	filters map[string][]string
	body    string
}

func (f *fakeBackend) ImportImage(ctx context.Context, src io.Reader, repo, tag, message string, changes []string) (string, error) {
	b, _ := io.ReadAll(src)
	f.body = string(b)
	f.got = append([]string{"import", repo, tag, message}, changes...)
	return "sha256:abc", nil
}

func (f *fakeBackend) Images(ctx context.Context, filters map[string][]string, all bool) ([]image.Summary, error) {
	f.got, f.filters = []string{"list"}, filters
	return nil, nil
}

func (f *fakeBackend) ImageInspect(ctx context.Context, name string) (image.InspectResponse, error) {
	f.got = []string{"inspect", name}
	if name == "nope" {
		return image.InspectResponse{}, errdefs.New(errdefs.ErrNotFound, "No such image: nope")
	}
	return image.InspectResponse{ID: "sha256:abc"}, nil
}

func (f *fakeBackend) ImageHistory(ctx context.Context, name string) ([]image.HistoryResponseItem, error) {
	f.got = []string{"history", name}
	return []image.HistoryResponseItem{}, nil
}

func (f *fakeBackend) TagImage(ctx context.Context, name, repo, tag string) error {
	f.got = []string{"tag", name, repo, tag}
	return nil
}

func (f *fakeBackend) ImageDelete(ctx context.Context, name string, force, prune bool) ([]image.DeleteResponse, error) {
	f.got = []string{"delete", name, boolString(force), boolString(prune)}
	return nil, nil
}

func (f *fakeBackend) SaveImages(ctx context.Context, w io.Writer, names []string) error {
	f.got = append([]string{"save"}, names...)
	for _, n := range names {
		if n == "nope" {
			return errdefs.New(errdefs.ErrNotFound, "No such image: nope")
		}
	}
	_, err := io.WriteString(w, "TAR")
	return err
}

func (f *fakeBackend) LoadImages(ctx context.Context, src io.Reader) ([]string, error) {
	b, _ := io.ReadAll(src)
	f.body = string(b)
	f.got = []string{"load"}
	switch f.body {
	case "bad":
		return nil, errdefs.New(errdefs.ErrInvalidParameter, "invalid archive")
	case "half":
		return []string{"Loaded image: a:1"}, errdefs.New(errdefs.ErrInvalidParameter, "invalid archive")
	}
	return []string{"Loaded image: a:1"}, nil
}

func (f *fakeBackend) ContainerCommit(ctx context.Context, container, repo, tag, comment, author string, changes []string, pause bool) (string, error) {
	f.got = append([]string{"commit", container, repo, tag, comment, author, boolString(pause)}, changes...)
	return "sha256:def", nil
}

func (f *fakeBackend) PullImage(ctx context.Context, fromImage, tag, platform string, auth registry.AuthConfig, out io.Writer) error {
	f.got = []string{"pull", fromImage, tag, platform, auth.Username}
	switch fromImage {
	case "missing":
		return errdefs.New(errdefs.ErrNotFound, "manifest for missing:latest not found: manifest unknown: manifest unknown")
	case "broken":
		io.WriteString(out, `{"status":"Pulling from library/broken","id":"latest"}`+"\n")
		return errdefs.New(errdefs.ErrInvalidParameter, "blob digest mismatch")
	}
	_, err := io.WriteString(out, `{"status":"Digest: sha256:abc"}`+"\n")
	return err
}

func (f *fakeBackend) PushImage(ctx context.Context, name, tag string, auth registry.AuthConfig, out io.Writer) error {
	f.got = []string{"push", name, tag, auth.Username}
	_, err := io.WriteString(out, `{"status":"1: digest: sha256:abc size: 1"}`+"\n")
	return err
}

func (f *fakeBackend) AuthLogin(ctx context.Context, auth registry.AuthConfig) (registry.AuthResponse, error) {
	f.got = []string{"auth", auth.ServerAddress, auth.Username}
	if auth.Password != "right" {
		return registry.AuthResponse{}, errdefs.New(errdefs.ErrUnauthorized, "login attempt to http://h/v2/ failed with status: 401 Unauthorized")
	}
	return registry.AuthResponse{Status: "Login Succeeded"}, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestRoutes(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		status                   int
		got                      string // the backend call, space-joined
		respBody                 string // a substring of the response
	}{
		{"inspect with slashes", "GET", "/v1.51/images/docker.io/library/busybox:latest/json", "", 200, "inspect docker.io/library/busybox:latest", `"Id":"sha256:abc"`},
		{"inspect missing", "GET", "/images/nope/json", "", 404, "inspect nope", `{"message":"No such image: nope"}`},
		{"history", "GET", "/images/sha256:abc/history", "", 200, "history sha256:abc", "[]"},
		{"unknown verb", "GET", "/images/busybox/push", "", 404, "", "page not found"},
		{"no verb", "GET", "/images/busybox", "", 404, "", "page not found"},
		{"tag", "POST", "/images/a/b/tag?repo=x/y&tag=1", "", 201, "tag a/b x/y 1", ""},
		{"post unknown verb", "POST", "/images/busybox/frob", "", 404, "", "page not found"},
		{"delete", "DELETE", "/images/a/b:1?force=1&noprune=1", "", 200, "delete a/b:1 true false", "[]"},
		{"delete defaults", "DELETE", "/images/busybox", "", 200, "delete busybox false true", "[]"},
		{"delete no name", "DELETE", "/images/", "", 404, "", "page not found"},
		{"list", "GET", "/images/json", "", 200, "list", "[]"},
		{"list bad filters", "GET", "/images/json?filters=" + url.QueryEscape("{bad"), "", 400, "", "invalid filter"},
		{"import", "POST", "/images/create?fromSrc=-&repo=busybox&tag=1&message=m&changes=CMD+sh&changes=ENV+A%3D1", "TAR", 200, "import busybox 1 m CMD sh ENV A=1", `{"status":"sha256:abc"}`},
		{"pull", "POST", "/images/create?fromImage=busybox&tag=1&platform=linux/arm64", "", 200, "pull busybox 1 linux/arm64 ", `{"status":"Digest: sha256:abc"}`},
		{"pull missing", "POST", "/images/create?fromImage=missing", "", 404, "pull missing   ", `{"message":"manifest for missing:latest not found: manifest unknown: manifest unknown"}`},
		{"pull fails mid-stream", "POST", "/images/create?fromImage=broken", "", 200, "pull broken   ", `{"errorDetail":{"message":"blob digest mismatch"},"error":"blob digest mismatch"}`},
		{"push", "POST", "/images/a/b/push?tag=1", "", 200, "push a/b 1 ", `size: 1`},
		{"push without X-Registry-Auth", "POST", "/images/a/b/push?tag=1&noauth=1", "", 400, "", `Bad parameters and missing X-Registry-Auth`},
		{"login", "POST", "/auth", `{"username":"u","password":"right","serveraddress":"h"}`, 200, "auth h u", `{"IdentityToken":"","Status":"Login Succeeded"}`},
		{"login refused", "POST", "/auth", `{"username":"u","password":"wrong","serveraddress":"h"}`, 401, "auth h u", `failed with status: 401 Unauthorized`},
		{"login bad body", "POST", "/auth", `{`, 400, "", `invalid JSON body`},
		{"search", "GET", "/images/search?term=busybox", "", 500, "", `no registry search index is reachable`},
		{"url import", "POST", "/images/create?fromSrc=http://x/y.tar", "", 501, "", "not implemented"},
		{"neither", "POST", "/images/create", "", 400, "", "fromImage or fromSrc"},
		{"save several", "GET", "/images/get?names=a&names=b/c:1", "", 200, "save a b/c:1", "TAR"},
		{"save one", "GET", "/images/b/c:1/get", "", 200, "save b/c:1", "TAR"},
		{"save missing", "GET", "/images/get?names=a&names=nope", "", 404, "save a nope", "No such image: nope"},
		{"load", "POST", "/images/load?quiet=1", "TAR", 200, "load", `{"stream":"Loaded image: a:1\n"}`},
		{"commit", "POST", "/commit?container=c1&repo=r&tag=1&comment=m&author=a&changes=CMD+sh&changes=ENV+A%3D1", "", 201, "commit c1 r 1 m a true CMD sh ENV A=1", `{"Id":"sha256:def"}`},
		{"commit no pause", "POST", "/commit?container=c1&pause=0", "", 201, "commit c1     false", `{"Id":"sha256:def"}`},
		{"commit no container", "POST", "/commit", "", 400, "", "container is required"},
		{"load bad", "POST", "/images/load", "bad", 400, "load", "invalid archive"},
		{"load half", "POST", "/images/load", "half", 200, "load", `{"errorDetail":{"message":"invalid archive"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &fakeBackend{}
			h := server.New(server.Config{Version: "test"}, New(b)).Handler()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if strings.Contains(c.path, "/push") && !strings.Contains(c.path, "noauth=1") {
				req.Header.Set("X-Registry-Auth", "e30=")
			}
			h.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if got := strings.Join(b.got, " "); got != c.got {
				t.Fatalf("backend call %q, want %q", got, c.got)
			}
			if !strings.Contains(rec.Body.String(), c.respBody) {
				t.Fatalf("body %q, want it to contain %q", rec.Body, c.respBody)
			}
			if c.body != "" && !strings.HasPrefix(c.name, "login") && b.body != c.body {
				t.Fatalf("import body %q", b.body)
			}
			want := "application/json"
			if strings.HasPrefix(c.name, "save") && rec.Code == 200 {
				want = "application/x-tar"
			}
			if rec.Code != http.StatusCreated && rec.Header().Get("Content-Type") != want {
				t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestDecodeAuth(t *testing.T) {
	cases := []struct {
		name, header, user string
		bad                bool
	}{
		{"empty", "", "", false},
		{"base64url", "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA_In0=", "u", false},
		{"unpadded", "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA_In0", "u", false},
		{"std base64", "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA/In0=", "u", false},
		{"empty object", "e30=", "", false},
		{"not base64", "!!!", "", true},
		{"not json", "bm90IGpzb24=", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := decodeAuth(c.header)
			if (err != nil) != c.bad {
				t.Fatalf("err = %v, want bad=%v", err, c.bad)
			}
			if cfg.Username != c.user {
				t.Errorf("user %q, want %q", cfg.Username, c.user)
			}
		})
	}
}

package daemon

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/distribution/reference"
	units "github.com/docker/go-units"
	eventtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/jsonstream"
	registrytypes "github.com/moby/moby/api/types/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/image"
	"github.com/berth-engine/berth/internal/registry"
	"github.com/berth-engine/berth/internal/version"
)

// registryClient is a distribution client configured from daemon.json.
func (d *Daemon) registryClient() (*registry.Client, error) {
	return registry.New(registry.Options{
		Insecure:  d.cfg.InsecureRegistries,
		Mirrors:   d.cfg.RegistryMirrors,
		UserAgent: "berth/" + version.Version,
	})
}

// registryAuth turns the API's AuthConfig into credentials; its legacy
// "auth" field (base64 of user:password) is read when the user and
// password are not set.
func registryAuth(a registrytypes.AuthConfig) registry.Auth {
	out := registry.Auth{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	if out.Username == "" && out.Password == "" && a.Auth != "" {
		if b, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			out.Username, out.Password, _ = strings.Cut(string(b), ":")
		}
	}
	return out
}

// streamMessage is one line of docker's JSON progress stream.
type streamMessage struct {
	jsonstream.Message
	// ProgressMessage is the bar dockerd renders for clients that do not
	// draw progressDetail themselves.
	ProgressMessage string `json:"progress,omitempty"`
	ErrorMessage    string `json:"error,omitempty"`
}

// progressBar renders current/total as dockerd does:
// [=====>      ]  69.21kB/4.211MB.
func progressBar(current, total int64) string {
	if total <= 0 || current < 0 {
		return ""
	}
	n := int(float64(min(current, total)) / float64(total) * 50)
	return "[" + strings.Repeat("=", n) + ">" + strings.Repeat(" ", 50-n) + "] " +
		fmt.Sprintf("%8v/%v", units.HumanSize(float64(current)), units.HumanSize(float64(total)))
}

// progressStream writes docker's progress messages, one JSON object each,
// from any goroutine.
type progressStream struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

func newProgressStream(w io.Writer) *progressStream {
	return &progressStream{enc: json.NewEncoder(w)}
}

func (p *progressStream) write(m jsonstream.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sm := streamMessage{Message: m}
	if m.Progress != nil {
		sm.ProgressMessage = progressBar(m.Progress.Current, m.Progress.Total)
	}
	if p.err == nil {
		p.err = p.enc.Encode(sm)
	}
}

func (p *progressStream) progress(ev image.Progress) {
	m := jsonstream.Message{ID: ev.ID, Status: ev.Status, Progress: &jsonstream.Progress{}}
	if ev.Total > 0 || ev.Current > 0 {
		m.Progress = &jsonstream.Progress{Current: ev.Current, Total: ev.Total}
	}
	if ev.ID == "" || strings.HasPrefix(ev.Status, "Pulling from ") {
		m.Progress = nil
	}
	p.write(m)
}

func (p *progressStream) status(s string) { p.write(jsonstream.Message{Status: s}) }

// registryError words a registry failure for a pull or push: classes the
// API client would act on (401 makes the docker CLI ask for a password)
// become plain failures, as dockerd reports them.
func registryError(err error) error {
	if err == nil {
		return nil
	}
	err = imageError(err)
	if errors.Is(err, errdefs.ErrUnauthorized) || errors.Is(err, errdefs.ErrForbidden) {
		return errdefs.New(errdefs.ErrSystem, err.Error())
	}
	return err
}

// pullRefs reads the API's fromImage and tag into the references to pull:
// one, or with no tag at all every tag of the repository (pull -a).
func pullRef(fromImage, tag string) (reference.Named, bool, error) {
	named, err := reference.ParseNormalizedNamed(fromImage)
	if err != nil {
		return nil, false, errdefs.New(errdefs.ErrInvalidParameter, "invalid reference format: "+err.Error())
	}
	if tag != "" {
		if dg, err := digest.Parse(tag); err == nil {
			named, err = reference.WithDigest(reference.TrimNamed(named), dg)
			if err != nil {
				return nil, false, errdefs.New(errdefs.ErrInvalidParameter, err.Error())
			}
		} else {
			named, err = reference.WithTag(reference.TrimNamed(named), tag)
			if err != nil {
				return nil, false, errdefs.New(errdefs.ErrInvalidParameter, "invalid reference format: "+err.Error())
			}
		}
	}
	_, tagged := named.(reference.Tagged)
	_, canonical := named.(reference.Canonical)
	return named, !tagged && !canonical, nil
}

// PullImage pulls fromImage (with tag, a tag or digest; none means every
// tag) for platform, writing docker's progress stream to out. An error
// before anything was written is the request's; later ones the caller
// puts in the stream.
func (d *Daemon) PullImage(ctx context.Context, fromImage, tag, platform string, auth registrytypes.AuthConfig, out io.Writer) error {
	named, all, err := pullRef(fromImage, tag)
	if err != nil {
		return err
	}
	var plat ocispec.Platform // none asked for: the image package's default
	if platform != "" {
		if plat, err = image.ParsePlatform(platform); err != nil {
			return imageError(err)
		}
	}
	rc, err := d.registryClient()
	if err != nil {
		return err
	}
	defer rc.Close()
	repo, err := rc.Repository(ctx, named, registryAuth(auth), false)
	if err != nil {
		return registryError(err)
	}
	refs := []reference.Named{named}
	if all {
		tags, err := repo.Tags(ctx)
		if err != nil {
			return registryError(err)
		}
		refs = refs[:0]
		for _, t := range tags {
			if r, err := reference.WithTag(named, t); err == nil {
				refs = append(refs, r)
			}
		}
	}
	ps := newProgressStream(out)
	updated := false
	var lastDigest digest.Digest
	for _, ref := range refs {
		res, err := d.images.Pull(ctx, ref, repo, image.PullOptions{Platform: plat, Progress: ps.progress})
		if err != nil {
			return registryError(err)
		}
		updated = updated || res.Updated
		lastDigest = res.Digest
		if !all {
			ps.status("Digest: " + res.Digest.String())
		}
		d.logImageEvent(ctx, res.ID, reference.FamiliarString(ref), eventtypes.ActionPull)
	}
	name := reference.FamiliarString(named)
	if all {
		name = reference.FamiliarName(named)
	} else if _, isDigest := named.(reference.Canonical); !isDigest {
		name = reference.FamiliarString(reference.TagNameOnly(named))
	}
	_ = lastDigest
	if updated {
		ps.status("Status: Downloaded newer image for " + name)
	} else {
		ps.status("Status: Image is up to date for " + name)
	}
	return nil
}

// PushImage pushes the local image name (tag, or every tag of the
// repository when tag is empty) to its registry, writing docker's
// progress stream to out.
func (d *Daemon) PushImage(ctx context.Context, name, tag string, auth registrytypes.AuthConfig, out io.Writer) error {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return errdefs.New(errdefs.ErrInvalidParameter, "invalid reference format: "+err.Error())
	}
	if _, ok := named.(reference.Canonical); ok {
		return errdefs.New(errdefs.ErrInvalidParameter, "cannot push a digest reference")
	}
	var refs []reference.NamedTagged
	switch {
	case tag != "":
		t, err := reference.WithTag(reference.TrimNamed(named), tag)
		if err != nil {
			return errdefs.New(errdefs.ErrInvalidParameter, "invalid reference format: "+err.Error())
		}
		refs = append(refs, t)
	default:
		if t, ok := named.(reference.NamedTagged); ok {
			refs = append(refs, t)
			break
		}
		imgs, err := d.images.List(ctx)
		if err != nil {
			return err
		}
		for _, img := range imgs {
			for _, rt := range img.RepoTags {
				n, err := reference.ParseNormalizedNamed(rt)
				if t, ok := n.(reference.NamedTagged); err == nil && ok && n.Name() == named.Name() {
					refs = append(refs, t)
				}
			}
		}
		if len(refs) == 0 {
			return errdefs.New(errdefs.ErrNotFound, "An image does not exist locally with the tag: "+reference.FamiliarName(named))
		}
	}
	// Blobs may be mounted from the repositories of the same registry the
	// image was pulled from or pushed to.
	var mountFrom []string
	if img, err := d.images.Inspect(ctx, refs[0].String()); err == nil {
		for _, rd := range img.RepoDigests {
			n, err := reference.ParseNormalizedNamed(rd)
			if err == nil && reference.Domain(n) == reference.Domain(named) && reference.Path(n) != reference.Path(named) && !containsStr(mountFrom, reference.Path(n)) {
				mountFrom = append(mountFrom, reference.Path(n))
			}
		}
	} else {
		return errdefs.New(errdefs.ErrNotFound, "An image does not exist locally with the tag: "+reference.FamiliarName(named))
	}
	rc, err := d.registryClient()
	if err != nil {
		return err
	}
	defer rc.Close()
	ps := newProgressStream(out)
	ps.status("The push refers to repository [" + named.Name() + "]")
	repo, err := rc.Repository(ctx, named, registryAuth(auth), true, mountFrom...)
	if err != nil {
		return registryError(err)
	}
	for _, ref := range refs {
		res, err := d.images.Push(ctx, ref, repo, image.PushOptions{MountFrom: mountFrom, Progress: ps.progress})
		if err != nil {
			return registryError(err)
		}
		ps.status(fmt.Sprintf("%s: digest: %s size: %d", res.Tag, res.Digest, res.Size))
		aux, _ := json.Marshal(map[string]any{"Tag": res.Tag, "Digest": res.Digest.String(), "Size": res.Size})
		raw := json.RawMessage(aux)
		ps.write(jsonstream.Message{Progress: &jsonstream.Progress{}, Aux: &raw})
		if id, err := d.images.Resolve(ctx, ref.String()); err == nil {
			d.logImageEvent(ctx, id, reference.FamiliarString(ref), eventtypes.ActionPush)
		}
	}
	return nil
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// AuthLogin checks credentials against their registry (docker login).
func (d *Daemon) AuthLogin(ctx context.Context, cfg registrytypes.AuthConfig) (registrytypes.AuthResponse, error) {
	host := cfg.ServerAddress
	switch strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/") {
	case "", "index.docker.io/v1", "index.docker.io", "docker.io", "registry-1.docker.io":
		host = "docker.io"
	}
	rc, err := d.registryClient()
	if err != nil {
		return registrytypes.AuthResponse{}, err
	}
	defer rc.Close()
	if err := rc.Login(ctx, host, registryAuth(cfg)); err != nil {
		if errors.Is(err, errdefs.ErrUnauthorized) {
			return registrytypes.AuthResponse{}, err
		}
		return registrytypes.AuthResponse{}, errdefs.New(errdefs.ErrSystem, err.Error())
	}
	return registrytypes.AuthResponse{Status: "Login Succeeded"}, nil
}

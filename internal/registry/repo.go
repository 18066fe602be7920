package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-engine/berth/internal/errdefs"
)

// Media types of Docker's schema 2 (OCI's are in image-spec).
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"
	mediaTypeSchema1        = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// MaxManifestSize caps a manifest or index, as containerd and dockerd do:
// a bigger one is refused before it is read.
const MaxManifestSize = 4 << 20

var manifestAccept = strings.Join([]string{
	ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageManifest, MediaTypeDockerList, MediaTypeDockerManifest,
}, ", ")

// Repository is an open session on one repository.
type Repository struct {
	s    *session
	name reference.Named
	path string // library/busybox
}

// Manifest is a manifest or index as the registry sent it.
type Manifest struct {
	MediaType string
	Digest    digest.Digest // of Data
	Data      []byte
}

// IsIndex reports whether m lists manifests per platform.
func (m Manifest) IsIndex() bool {
	return m.MediaType == ocispec.MediaTypeImageIndex || m.MediaType == MediaTypeDockerList
}

func (r *Repository) url(parts ...string) string {
	return r.s.base + "/v2/" + r.path + "/" + strings.Join(parts, "/")
}

func (r *Repository) request(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	return req, nil
}

// Manifest fetches the manifest or index ref (a tag or a digest) names.
// Its bytes are checked against the digest asked for, or the one the
// registry names in Docker-Content-Digest. ErrNotFound (a *Error with
// MANIFEST_UNKNOWN) when there is none, ErrInvalidParameter for one over
// MaxManifestSize, a digest mismatch or a schema 1 manifest.
func (r *Repository) Manifest(ctx context.Context, ref string) (Manifest, error) {
	req, err := r.request(ctx, http.MethodGet, r.url("manifests", ref), nil)
	if err != nil {
		return Manifest{}, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := r.s.do(ctx, req)
	if err != nil {
		return Manifest{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Manifest{}, responseError(resp)
	}
	if resp.ContentLength > MaxManifestSize {
		return Manifest{}, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("manifest %s is %d bytes, over the %d bytes allowed", ref, resp.ContentLength, MaxManifestSize))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
	if err != nil {
		if ctx.Err() != nil {
			return Manifest{}, ctx.Err()
		}
		return Manifest{}, fmt.Errorf("%w: reading manifest %s: %v", errdefs.ErrUnavailable, ref, err)
	}
	if len(data) > MaxManifestSize {
		return Manifest{}, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("manifest %s is over the %d bytes allowed", ref, MaxManifestSize))
	}
	got := digest.FromBytes(data)
	want, err := digest.Parse(ref)
	if err != nil {
		if want, err = digest.Parse(resp.Header.Get("Docker-Content-Digest")); err != nil {
			want = ""
		}
	}
	if want != "" && want.Algorithm() == digest.SHA256 && want != got {
		return Manifest{}, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("manifest verification failed for digest %s: the registry sent content with digest %s", want, got))
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var probe struct {
		MediaType     string          `json:"mediaType"`
		SchemaVersion int             `json:"schemaVersion"`
		Manifests     json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Manifest{}, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid manifest %s: %v", ref, err))
	}
	switch {
	case probe.MediaType != "":
		mt = probe.MediaType
	case mt == ocispec.MediaTypeImageIndex || mt == ocispec.MediaTypeImageManifest || mt == MediaTypeDockerList || mt == MediaTypeDockerManifest:
	case probe.Manifests != nil:
		mt = ocispec.MediaTypeImageIndex
	default:
		mt = ocispec.MediaTypeImageManifest
	}
	if mt == mediaTypeSchema1 || probe.SchemaVersion == 1 {
		return Manifest{}, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("%s: schema 1 manifests are not supported; push the image again with a current client", ref))
	}
	return Manifest{MediaType: mt, Digest: got, Data: data}, nil
}

// Blob opens the blob dgst and returns its stream and size (-1 when the
// registry did not say). The bytes are not checked here: the reader of
// the stream hashes them.
func (r *Repository) Blob(ctx context.Context, dgst digest.Digest) (io.ReadCloser, int64, error) {
	req, err := r.request(ctx, http.MethodGet, r.url("blobs", dgst.String()), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := r.s.do(ctx, req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, 0, responseError(resp)
	}
	return resp.Body, resp.ContentLength, nil
}

// BlobExists reports whether the repository has the blob (a HEAD).
func (r *Repository) BlobExists(ctx context.Context, dgst digest.Digest) (bool, error) {
	req, err := r.request(ctx, http.MethodHead, r.url("blobs", dgst.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := r.s.do(ctx, req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, &Error{Status: resp.StatusCode, msg: fmt.Sprintf("checking blob %s: %s", dgst, resp.Status)}
}

// upload is where a started upload goes on.
type upload struct{ location string }

// startUpload begins an upload; with from set it first asks the registry
// to mount dgst from that repository, and mounted is true when it did.
func (r *Repository) startUpload(ctx context.Context, dgst digest.Digest, from string) (u upload, mounted bool, err error) {
	target := r.url("blobs", "uploads") + "/"
	if from != "" {
		target += "?" + url.Values{"mount": {dgst.String()}, "from": {from}}.Encode()
	}
	req, err := r.request(ctx, http.MethodPost, target, nil)
	if err != nil {
		return upload{}, false, err
	}
	req.Header.Set("Content-Length", "0")
	resp, err := r.s.do(ctx, req)
	if err != nil {
		return upload{}, false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		return upload{}, true, nil
	case http.StatusAccepted:
	default:
		return upload{}, false, responseError(resp)
	}
	loc, err := resp.Location()
	if err != nil {
		return upload{}, false, fmt.Errorf("%w: registry started an upload without a Location: %v", errdefs.ErrSystem, err)
	}
	return upload{location: loc.String()}, false, nil
}

// MountBlob asks the registry to link dgst from the repository from (a
// path such as test/busybox) into this one. It returns false, having
// uploaded nothing, when the registry would not.
func (r *Repository) MountBlob(ctx context.Context, dgst digest.Digest, from string) (bool, error) {
	u, mounted, err := r.startUpload(ctx, dgst, from)
	if err != nil || mounted {
		return mounted, err
	}
	// The registry started an upload instead; cancel it.
	if req, err := r.request(ctx, http.MethodDelete, u.location, nil); err == nil {
		if resp, err := r.s.do(ctx, req); err == nil {
			resp.Body.Close()
		}
	}
	return false, nil
}

// PutBlob uploads size bytes of body as blob dgst in one request (the
// registry checks the digest).
func (r *Repository) PutBlob(ctx context.Context, dgst digest.Digest, size int64, body io.Reader) error {
	u, mounted, err := r.startUpload(ctx, dgst, "")
	if err != nil || mounted {
		return err
	}
	loc, err := url.Parse(u.location)
	if err != nil {
		return fmt.Errorf("%w: upload location %q: %v", errdefs.ErrSystem, u.location, err)
	}
	q := loc.Query()
	q.Set("digest", dgst.String())
	loc.RawQuery = q.Encode()
	req, err := r.request(ctx, http.MethodPut, loc.String(), io.NopCloser(body))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Length", strconv.FormatInt(size, 10))
	resp, err := r.s.do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return responseError(resp)
	}
	return nil
}

// PutManifest stores data as the manifest tag (or digest) names, with its
// media type, and returns its digest.
func (r *Repository) PutManifest(ctx context.Context, ref, mediaType string, data []byte) (digest.Digest, error) {
	req, err := r.request(ctx, http.MethodPut, r.url("manifests", ref), bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := r.s.do(ctx, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", responseError(resp)
	}
	return digest.FromBytes(data), nil
}

// Tags lists the repository's tags.
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	req, err := r.request(ctx, http.MethodGet, r.url("tags", "list"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.s.do(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp)
	}
	var list struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxManifestSize)).Decode(&list); err != nil {
		return nil, fmt.Errorf("%w: tag list: %v", errdefs.ErrSystem, err)
	}
	return list.Tags, nil
}

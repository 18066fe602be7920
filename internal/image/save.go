package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
)

// saveEntry is one image of manifest.json, docker save's own index.
type saveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

type saveImage struct {
	id   string
	rec  record
	tags []reference.Named // the tags the caller named it by; none for an ID
}

// Save writes the images names name to w as one tar that both docker load
// (manifest.json, repositories) and OCI tools (oci-layout, index.json) read,
// as docker 25 and later write it: every blob once, under blobs/sha256.
// A name that is a tag saves that tag; an ID saves the image untagged. All
// names are resolved before anything is written, so ErrNotFound (or
// ErrInvalidParameter for no names) comes before the first byte.
func (s *Store) Save(ctx context.Context, w io.Writer, names []string) error {
	if len(names) == 0 {
		return invalidf("no images to save")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var imgs []*saveImage
	byID := map[string]*saveImage{}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, n := range names {
			id, ref, err := resolve(tx, n)
			if err != nil {
				return err
			}
			si := byID[id]
			if si == nil {
				rec, _, err := getRecord(tx, id)
				if err != nil {
					return err
				}
				si = &saveImage{id: id, rec: rec}
				byID[id] = si
				imgs = append(imgs, si)
			}
			if ref != nil {
				si.tags = append(si.tags, ref)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	now := time.Unix(0, 0).UTC()
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: now, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	written := map[digest.Digest]bool{}
	blob := func(dgst digest.Digest) (string, error) {
		name := "blobs/sha256/" + dgst.Encoded()
		if written[dgst] {
			return name, nil
		}
		info, err := s.content.Info(ctx, dgst)
		if err != nil {
			return "", fmt.Errorf("save: %w", err)
		}
		rc, err := s.content.Open(ctx, dgst)
		if err != nil {
			return "", fmt.Errorf("save: %w", err)
		}
		defer rc.Close()
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: info.Size, ModTime: now, Format: tar.FormatPAX}); err != nil {
			return "", err
		}
		if _, err := io.Copy(tw, rc); err != nil {
			return "", err
		}
		written[dgst] = true
		return name, nil
	}
	file := func(name string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: now, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	}

	var manifest []saveEntry
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	repos := map[string]map[string]string{}
	for _, si := range imgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		cfg, err := blob(digest.Digest(si.id))
		if err != nil {
			return err
		}
		e := saveEntry{Config: cfg, RepoTags: []string{}, Layers: []string{}}
		for _, l := range si.rec.Layers {
			name, err := blob(l.Blob)
			if err != nil {
				return err
			}
			e.Layers = append(e.Layers, name)
		}
		if _, err := blob(si.rec.Manifest); err != nil {
			return err
		}
		d := ocispec.Descriptor{MediaType: si.rec.manifestType(), Digest: si.rec.Manifest, Size: si.rec.ManifestSize}
		if len(si.tags) == 0 {
			idx.Manifests = append(idx.Manifests, d)
		}
		for _, t := range si.tags {
			ft := reference.FamiliarString(t)
			e.RepoTags = append(e.RepoTags, ft)
			td := d
			td.Annotations = map[string]string{
				"io.containerd.image.name": t.String(),
				ocispec.AnnotationRefName:  t.(reference.Tagged).Tag(),
			}
			idx.Manifests = append(idx.Manifests, td)
			if len(si.rec.Layers) > 0 {
				repo := reference.FamiliarName(t)
				if repos[repo] == nil {
					repos[repo] = map[string]string{}
				}
				repos[repo][t.(reference.Tagged).Tag()] = si.rec.Layers[len(si.rec.Layers)-1].Blob.Encoded()
			}
		}
		manifest = append(manifest, e)
	}
	if err := file("index.json", idx); err != nil {
		return err
	}
	if err := file("manifest.json", manifest); err != nil {
		return err
	}
	if err := file(ocispec.ImageLayoutFile, ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}); err != nil {
		return err
	}
	if len(repos) > 0 {
		if err := file("repositories", repos); err != nil {
			return err
		}
	}
	return tw.Close()
}

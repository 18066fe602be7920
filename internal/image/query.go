package image

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"
	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-engine/berth/internal/content"
)

// driverData is what a snapshotter may add to image inspect's GraphDriver.
type driverData interface {
	DriverData(ctx context.Context, key string) (name string, data map[string]string, err error)
}

type loaded struct {
	id   string
	rec  record
	tags []string
}

func (s *Store) config(ctx context.Context, id string) (dockerspec.DockerOCIImage, error) {
	var img dockerspec.DockerOCIImage
	data, err := content.ReadAll(ctx, s.content, digest.Digest(id))
	if err != nil {
		return img, fmt.Errorf("image %s config: %w", id, err)
	}
	if err := json.Unmarshal(data, &img); err != nil {
		return img, fmt.Errorf("image %s config: %w", id, err)
	}
	return img, nil
}

func (s *Store) load(refOrID string) (loaded, error) {
	var l loaded
	err := s.db.View(func(tx *bolt.Tx) error {
		id, _, err := resolve(tx, refOrID)
		if err != nil {
			return err
		}
		rec, _, err := getRecord(tx, id)
		l = loaded{id: id, rec: rec, tags: familiar(refsOf(tx, id))}
		return err
	})
	return l, err
}

// List returns every image in docker's summary shape, newest first.
// Containers and SharedSize are -1 (not computed), as docker answers without
// those options.
func (s *Store) List(ctx context.Context) ([]image.Summary, error) {
	var all []loaded
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("image %s: corrupt record: %w", k, err)
			}
			all = append(all, loaded{id: string(k), rec: r, tags: familiar(refsOf(tx, string(k)))})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := make([]image.Summary, 0, len(all))
	for _, l := range all {
		img, err := s.config(ctx, l.id)
		if err != nil {
			return nil, err
		}
		labels := img.Config.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		out = append(out, image.Summary{
			ID:          l.id,
			RepoTags:    l.tags,
			RepoDigests: l.rec.repoDigests(),
			ParentID:    l.rec.Parent.String(),
			Created:     created(img, l.rec).Unix(),
			Size:        l.rec.size(),
			Labels:      labels,
			Containers:  -1,
			SharedSize:  -1,
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created > out[j].Created })
	return out, nil
}

// repoDigests are the record's repo digests in familiar form.
func (r record) repoDigests() []string {
	out := []string{}
	for _, d := range r.RepoDigests {
		if n, err := reference.ParseNormalizedNamed(d); err == nil {
			out = append(out, reference.FamiliarString(n))
		}
	}
	return out
}

func created(img dockerspec.DockerOCIImage, r record) time.Time {
	if img.Created != nil {
		return *img.Created
	}
	return r.Created
}

// Inspect returns the image refOrID names in docker's inspect shape.
// ErrNotFound as Resolve.
func (s *Store) Inspect(ctx context.Context, refOrID string) (image.InspectResponse, error) {
	l, err := s.load(refOrID)
	if err != nil {
		return image.InspectResponse{}, err
	}
	img, err := s.config(ctx, l.id)
	if err != nil {
		return image.InspectResponse{}, err
	}
	cfg := img.Config
	resp := image.InspectResponse{
		ID:           l.id,
		RepoTags:     l.tags,
		RepoDigests:  l.rec.repoDigests(),
		Created:      created(img, l.rec).Format(time.RFC3339Nano),
		Author:       img.Author,
		Config:       &cfg,
		Architecture: img.Architecture,
		Variant:      img.Variant,
		Os:           img.OS,
		OsVersion:    img.OSVersion,
		Size:         l.rec.size(),
		RootFS:       image.RootFS{Type: img.RootFS.Type},
		Metadata:     image.Metadata{LastTagTime: l.rec.LastTagTime},
	}
	if n := len(img.History); n > 0 {
		resp.Comment = img.History[n-1].Comment
	}
	for _, d := range img.RootFS.DiffIDs {
		resp.RootFS.Layers = append(resp.RootFS.Layers, d.String())
	}
	if dd, ok := s.sn.(driverData); ok && l.rec.chainID() != "" {
		name, data, err := dd.DriverData(ctx, l.rec.chainID())
		if err == nil {
			resp.GraphDriver = &storage.DriverData{Name: name, Data: data}
		}
	}
	return resp, nil
}

// History returns the image's history, newest first, in docker's shape: the
// newest entry carries the image ID and tags, older ones "<missing>".
func (s *Store) History(ctx context.Context, refOrID string) ([]image.HistoryResponseItem, error) {
	l, err := s.load(refOrID)
	if err != nil {
		return nil, err
	}
	img, err := s.config(ctx, l.id)
	if err != nil {
		return nil, err
	}
	var items []image.HistoryResponseItem
	li := 0
	for _, h := range img.History {
		item := image.HistoryResponseItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if h.Created != nil {
			item.Created = h.Created.Unix()
		}
		if !h.EmptyLayer && li < len(l.rec.Layers) {
			item.Size = l.rec.Layers[li].Size
			li++
		}
		items = append(items, item)
	}
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
	if len(items) > 0 {
		items[0].ID = l.id
		items[0].Tags = l.tags
	}
	// As dockerd: the rows a committed image shares with its parent (when
	// that is still there) carry the parent's ID and tags.
	if l.rec.Parent != "" {
		if ph, err := s.History(ctx, l.rec.Parent.String()); err == nil && len(ph) < len(items) {
			off := len(items) - len(ph)
			for i, p := range ph {
				if p.ID != "<missing>" {
					items[off+i].ID, items[off+i].Tags = p.ID, p.Tags
				}
			}
		}
	}
	return items, nil
}

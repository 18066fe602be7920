package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	eventtypes "github.com/moby/moby/api/types/events"
	imagetypes "github.com/moby/moby/api/types/image"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/image"
)

// imageError gives an image store error its errdefs class, keeping its text
// (docker's message) as it is.
func imageError(err error) error {
	for _, c := range []struct{ from, to error }{
		{image.ErrNotFound, errdefs.ErrNotFound},
		{image.ErrConflict, errdefs.ErrConflict},
		{image.ErrInvalidParameter, errdefs.ErrInvalidParameter},
	} {
		if errors.Is(err, c.from) {
			return errdefs.New(c.to, err.Error())
		}
	}
	return err
}

// ImportImage makes an image from a root filesystem tar (docker import).
func (d *Daemon) ImportImage(ctx context.Context, src io.Reader, repo, tag, message string, changes []string) (string, error) {
	ref, err := joinRef(repo, tag)
	if err != nil {
		return "", err
	}
	id, err := d.images.Import(ctx, src, image.ImportOptions{Ref: ref, Changes: changes, Message: message, Source: "-"})
	if err != nil {
		return id, imageError(err)
	}
	// As dockerd: the new tag's event, then the import's.
	if ref != "" {
		d.logImageEvent(ctx, id, familiarTag(ref), eventtypes.ActionTag)
	}
	d.logImageEvent(ctx, id, id, eventtypes.ActionImport)
	return id, nil
}

// joinRef makes repo[:tag] from the API's repo and tag parameters; a tag
// given separately replaces one in repo, as dockerd's does.
func joinRef(repo, tag string) (string, error) {
	if repo == "" || tag == "" {
		return repo, nil
	}
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return "", errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	tagged, err := reference.WithTag(reference.TrimNamed(named), tag)
	if err != nil {
		return "", errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	return reference.FamiliarString(tagged), nil
}

// ImageInspect returns docker's image inspect for name.
func (d *Daemon) ImageInspect(ctx context.Context, name string) (imagetypes.InspectResponse, error) {
	img, err := d.images.Inspect(ctx, name)
	return img, imageError(err)
}

// ImageHistory returns docker's image history for name.
func (d *Daemon) ImageHistory(ctx context.Context, name string) ([]imagetypes.HistoryResponseItem, error) {
	h, err := d.images.History(ctx, name)
	return h, imageError(err)
}

// TagImage points repo[:tag] at the image name names.
func (d *Daemon) TagImage(ctx context.Context, name, repo, tag string) error {
	if repo == "" {
		return errdefs.New(errdefs.ErrInvalidParameter, "repository name must have at least one component")
	}
	ref, err := joinRef(repo, tag)
	if err != nil {
		return err
	}
	if err := d.images.Tag(ctx, name, ref); err != nil {
		return imageError(err)
	}
	if id, err := d.images.Resolve(ctx, ref); err == nil {
		d.logImageEvent(ctx, id, familiarTag(ref), eventtypes.ActionTag)
	}
	return nil
}

// ImageDelete untags or deletes with docker rmi's rules.
func (d *Daemon) ImageDelete(ctx context.Context, name string, force, prune bool) ([]imagetypes.DeleteResponse, error) {
	// An AutoRemove container's layer still going in the background sits on
	// the image's: it would keep that layer (a child snapshot) past the
	// image's deletion.
	d.discards.waitAll(10 * time.Second)
	id, _ := d.images.Resolve(ctx, name)
	items, err := d.images.Delete(ctx, name, image.DeleteOptions{Force: force, PruneChildren: prune})
	if err != nil {
		return items, imageError(err)
	}
	d.logDeleteEvents(id, items)
	return items, nil
}

// Images lists the images that pass filters: dangling, reference, label,
// before and since, as docker's. Other filters are refused as dockerd
// refuses them. Unless withIntermediate, an untagged image that is the
// parent of another is left out, as dockerd hides intermediate images.
func (d *Daemon) Images(ctx context.Context, filters map[string][]string, withIntermediate bool) ([]imagetypes.Summary, error) {
	all, err := d.images.List(ctx)
	if err != nil {
		return nil, err
	}
	if !withIntermediate {
		parents := map[string]bool{}
		for _, s := range all {
			parents[s.ParentID] = true
		}
		all = slices.DeleteFunc(all, func(s imagetypes.Summary) bool {
			return parents[s.ID] && len(s.RepoTags) == 0 && len(s.RepoDigests) == 0
		})
	}
	created := func(name string) (int64, error) {
		for _, s := range all {
			if s.ID == name {
				return s.Created, nil
			}
		}
		id, err := d.images.Resolve(ctx, name)
		if err != nil {
			return 0, imageError(err)
		}
		for _, s := range all {
			if s.ID == id {
				return s.Created, nil
			}
		}
		return 0, errdefs.New(errdefs.ErrNotFound, "No such image: "+name)
	}
	return filterImages(all, filters, created)
}

var imageFilters = []string{"dangling", "reference", "label", "before", "since"}

// filterImages applies the list filters to all. created returns the
// creation time of the image a before or since value names.
func filterImages(all []imagetypes.Summary, filters map[string][]string, created func(string) (int64, error)) ([]imagetypes.Summary, error) {
	for k := range filters {
		if !slices.Contains(imageFilters, k) {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	var dangling *bool
	if vs := filters["dangling"]; len(vs) > 0 {
		switch {
		case len(vs) == 1 && (vs[0] == "true" || vs[0] == "1"):
			dangling = new(true)
		case len(vs) == 1 && (vs[0] == "false" || vs[0] == "0"):
			dangling = new(false)
		default:
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter 'dangling=%s'", strings.Join(vs, ",")))
		}
	}
	bound := func(key string) (int64, bool, error) {
		vs := filters[key]
		if len(vs) == 0 {
			return 0, false, nil
		}
		t, err := created(vs[0])
		return t, true, err
	}
	before, hasBefore, err := bound("before")
	if err != nil {
		return nil, err
	}
	since, hasSince, err := bound("since")
	if err != nil {
		return nil, err
	}
	for _, p := range filters["reference"] {
		if _, err := path.Match(p, ""); err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter 'reference=%s': %v", p, err))
		}
	}

	out := []imagetypes.Summary{}
	for _, s := range all {
		if dangling != nil && *dangling != (len(s.RepoTags) == 0) {
			continue
		}
		if hasBefore && s.Created >= before {
			continue
		}
		if hasSince && s.Created <= since {
			continue
		}
		if !matchLabels(s.Labels, filters["label"]) {
			continue
		}
		if pats := filters["reference"]; len(pats) > 0 {
			// Like dockerd, keep only the tags that match.
			var tags []string
			for _, t := range s.RepoTags {
				if matchRef(t, pats) {
					tags = append(tags, t)
				}
			}
			if len(tags) == 0 {
				continue
			}
			s.RepoTags = tags
		}
		out = append(out, s)
	}
	return out, nil
}

// matchRef reports whether the familiar tag t matches one of the patterns
// (path.Match globs over the familiar name, with or without its tag).
func matchRef(t string, patterns []string) bool {
	named, err := reference.ParseNormalizedNamed(t)
	if err != nil {
		return false
	}
	for _, p := range patterns {
		if ok, _ := reference.FamiliarMatch(p, named); ok {
			return true
		}
	}
	return false
}

// matchLabels reports whether labels have every "key" or "key=value" of want.
func matchLabels(labels map[string]string, want []string) bool {
	for _, w := range want {
		k, v, hasValue := strings.Cut(w, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

// SaveImages writes the images names name to w as a docker save archive
// (also an OCI image layout). Nothing is written when a name is unknown.
func (d *Daemon) SaveImages(ctx context.Context, w io.Writer, names []string) error {
	var ids []string
	for _, n := range names {
		id, err := d.images.Resolve(ctx, n)
		if err != nil {
			return imageError(err)
		}
		ids = append(ids, id)
	}
	if err := d.images.Save(ctx, w, names); err != nil {
		return imageError(err)
	}
	for i, id := range ids {
		d.logImageEvent(ctx, id, names[i], eventtypes.ActionSave)
	}
	return nil
}

// LoadImages stores the images of a docker save or OCI layout archive and
// returns docker's lines for what was loaded ("Loaded image: busybox:latest",
// "Loaded image ID: sha256:..." for an untagged one), with the error that
// stopped it, if any.
func (d *Daemon) LoadImages(ctx context.Context, src io.Reader) ([]string, error) {
	loaded, err := d.images.Load(ctx, src)
	var lines []string
	for _, l := range loaded {
		for _, t := range l.Tags {
			if old, ok := l.Moved[t]; ok {
				lines = append(lines, fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string", t, old))
			}
			d.logImageEvent(ctx, l.ID, t, eventtypes.ActionTag)
			lines = append(lines, "Loaded image: "+t)
		}
		if len(l.Tags) == 0 {
			lines = append(lines, "Loaded image ID: "+l.ID)
		}
		d.logImageEvent(ctx, l.ID, l.ID, eventtypes.ActionLoad)
	}
	return lines, imageError(err)
}

package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	imagetypes "github.com/moby/moby/api/types/image"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/events"
)

// ImagesPrune removes the dangling images (no tag) that no container
// uses; with dangling=false every image no container uses. Filters:
// dangling, until (created before), label, label! as dockerd's.
func (d *Daemon) ImagesPrune(ctx context.Context, filters map[string][]string) (imagetypes.PruneReport, error) {
	rep := imagetypes.PruneReport{ImagesDeleted: []imagetypes.DeleteResponse{}}
	for k := range filters {
		switch k {
		case "dangling", "until", "label", "label!":
		default:
			return rep, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	danglingOnly := true
	if vs := filters["dangling"]; len(vs) > 0 {
		switch vs[0] {
		case "true", "1":
		case "false", "0":
			danglingOnly = false
		default:
			return rep, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter 'dangling=%s'", vs[0]))
		}
	}
	until, err := pruneUntil(filters)
	if err != nil {
		return rep, err
	}
	imgs, err := d.images.List(ctx)
	if err != nil {
		return rep, err
	}
	used := map[string]bool{}
	for _, c := range d.containers.List() {
		c.Lock()
		used[c.Image] = true
		c.Unlock()
	}
	for _, im := range imgs {
		if used[im.ID] || danglingOnly && len(im.RepoTags) > 0 {
			continue
		}
		if !until.IsZero() && !time.Unix(im.Created, 0).Before(until) {
			continue
		}
		if !labelsMatch(filters, im.Labels) {
			continue
		}
		items, err := d.ImageDelete(ctx, im.ID, true, true)
		if err != nil {
			if errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, errdefs.ErrConflict) {
				continue // removed or put to use meanwhile
			}
			return rep, err
		}
		rep.ImagesDeleted = append(rep.ImagesDeleted, items...)
		rep.SpaceReclaimed += uint64(im.Size)
	}
	d.events.Publish(pruneEvent("image", rep.SpaceReclaimed))
	return rep, nil
}

// pruneUntil reads the until filter (a timestamp or a duration before
// now, as docker's).
func pruneUntil(filters map[string][]string) (time.Time, error) {
	vs := filters["until"]
	if len(vs) == 0 {
		return time.Time{}, nil
	}
	if len(vs) > 1 {
		return time.Time{}, errdefs.New(errdefs.ErrInvalidParameter, "more than one until filter specified")
	}
	t, err := events.ParseTime(vs[0], time.Now())
	if err != nil {
		return time.Time{}, errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	return t, nil
}

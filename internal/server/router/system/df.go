package system

import (
	"context"
	"net/http"
	"slices"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server/httputil"
)

// DiskUsageBackend is what GET /system/df needs: every object type's usage
// with its items filled.
type DiskUsageBackend interface {
	SystemDiskUsage(ctx context.Context) (*system.DiskUsage, error)
}

// diskUsageResponse is /system/df's body across API versions: before 1.52
// the legacy fields only, in 1.52 both (the legacy ones unless verbose),
// from 1.53 the per-type usage only, with items when verbose.
type diskUsageResponse struct {
	LayersSize  int64                `json:"LayersSize,omitempty"`
	Images      []image.Summary      `json:"Images,omitempty"`
	Containers  []container.Summary  `json:"Containers,omitempty"`
	Volumes     []volume.Volume      `json:"Volumes,omitempty"`
	BuildCache  []build.CacheRecord  `json:"BuildCache,omitempty"`
	Image       *image.DiskUsage     `json:"ImageUsage,omitempty"`
	Container   *container.DiskUsage `json:"ContainerUsage,omitempty"`
	Volume      *volume.DiskUsage    `json:"VolumeUsage,omitempty"`
	BuildCacheU *build.DiskUsage     `json:"BuildCacheUsage,omitempty"`
}

// legacyDiskUsage keeps the legacy lists present (as empty lists) the way
// dockerd sends them to old clients.
type legacyDiskUsage struct {
	LayersSize int64
	Images     []image.Summary     `json:"Images"`
	Containers []container.Summary `json:"Containers"`
	Volumes    []volume.Volume     `json:"Volumes"`
	BuildCache []build.CacheRecord `json:"BuildCache"`
}

func (s *Router) diskUsage(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, ok := s.backend.(DiskUsageBackend)
	if !ok {
		return errdefs.New(errdefs.ErrNotImplemented, "disk usage is not supported by this backend")
	}
	types := r.URL.Query()["type"]
	for _, t := range types {
		switch system.DiskUsageObject(t) {
		case system.ContainerObject, system.ImageObject, system.VolumeObject, system.BuildCacheObject:
		default:
			return errdefs.New(errdefs.ErrInvalidParameter, "unknown object type: "+t)
		}
	}
	want := func(o system.DiskUsageObject) bool { return len(types) == 0 || slices.Contains(types, string(o)) }
	du, err := b.SystemDiskUsage(ctx)
	if err != nil {
		return err
	}
	// A backend may leave out a type it has nothing of.
	if du.ImageUsage == nil {
		du.ImageUsage = &image.DiskUsage{}
	}
	if du.ContainerUsage == nil {
		du.ContainerUsage = &container.DiskUsage{}
	}
	if du.VolumeUsage == nil {
		du.VolumeUsage = &volume.DiskUsage{}
	}
	if du.BuildCacheUsage == nil {
		du.BuildCacheUsage = &build.DiskUsage{}
	}
	version := httputil.VersionFromContext(ctx)
	verbose := r.URL.Query().Get("verbose") == "1" || r.URL.Query().Get("verbose") == "true"
	if versionBefore(version, "1.52") {
		var out legacyDiskUsage
		if want(system.ImageObject) {
			out.LayersSize, out.Images = du.ImageUsage.TotalSize, du.ImageUsage.Items
		}
		if want(system.ContainerObject) {
			out.Containers = du.ContainerUsage.Items
		}
		if want(system.VolumeObject) {
			out.Volumes = du.VolumeUsage.Items
		}
		if want(system.BuildCacheObject) {
			out.BuildCache = du.BuildCacheUsage.Items
		}
		// The types asked for are lists, empty ones too, as dockerd sends.
		if want(system.ImageObject) && out.Images == nil {
			out.Images = []image.Summary{}
		}
		if want(system.ContainerObject) && out.Containers == nil {
			out.Containers = []container.Summary{}
		}
		if want(system.VolumeObject) && out.Volumes == nil {
			out.Volumes = []volume.Volume{}
		}
		if want(system.BuildCacheObject) && out.BuildCache == nil {
			out.BuildCache = []build.CacheRecord{}
		}
		return httputil.WriteJSON(w, http.StatusOK, out)
	}
	var out diskUsageResponse
	legacy := version == "1.52" && !verbose
	if want(system.ImageObject) {
		out.Image = du.ImageUsage
		if legacy {
			out.LayersSize, out.Images = du.ImageUsage.TotalSize, du.ImageUsage.Items
		}
	}
	if want(system.ContainerObject) {
		out.Container = du.ContainerUsage
		if legacy {
			out.Containers = du.ContainerUsage.Items
		}
	}
	if want(system.VolumeObject) {
		out.Volume = du.VolumeUsage
	}
	if want(system.BuildCacheObject) {
		out.BuildCacheU = du.BuildCacheUsage
	}
	if !verbose {
		// The per-type usage carries its items only when asked for.
		if out.Image != nil {
			c := *out.Image
			c.Items = nil
			out.Image = &c
		}
		if out.Container != nil {
			c := *out.Container
			c.Items = nil
			out.Container = &c
		}
		if out.Volume != nil {
			c := *out.Volume
			c.Items = nil
			out.Volume = &c
		}
		if out.BuildCacheU != nil {
			c := *out.BuildCacheU
			c.Items = nil
			out.BuildCacheU = &c
		}
	}
	return httputil.WriteJSON(w, http.StatusOK, out)
}

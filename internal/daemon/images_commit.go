package daemon

import (
	"context"
	"fmt"
	"io"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/image"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/snapshot"
)

// ContainerCommit makes an image of the container's writable layer over
// its image's layers, with the container's config (changes applied on
// top), tagged repo[:tag] when repo is set, and returns the new image's ID.
// A running container is paused while its layer is read unless pause is
// false.
func (d *Daemon) ContainerCommit(ctx context.Context, name, repo, tag, comment, author string, changes []string, pause bool) (string, error) {
	c, err := d.getContainer(name)
	if err != nil {
		return "", err
	}
	ref, err := joinRef(repo, tag)
	if err != nil {
		return "", err
	}
	c.Lock()
	running, paused := c.State.Running && !c.State.Restarting, c.State.Paused
	parent := c.Image
	var cfg dockerspec.DockerOCIImageConfig
	createdBy := ""
	if c.Config != nil {
		cfg = imageConfigOf(c.Config)
		createdBy = strings.Join(append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...), " ")
	}
	c.Unlock()
	if pause && running && !paused {
		if err := d.ContainerPause(ctx, c.ID); err != nil {
			return "", err
		}
		defer func() {
			if err := d.ContainerUnpause(context.WithoutCancel(ctx), c.ID); err != nil {
				log.G(ctx).Error("unpausing after commit", "id", c.ID, "err", err)
			}
		}()
	}

	if info, err := d.snapshots.Stat(ctx, c.ID); err != nil || info.Kind != snapshot.KindActive {
		return "", errdefs.New(errdefs.ErrConflict, fmt.Sprintf("container %s has no writable layer", c.ID))
	}
	// The layer without the mount points of /etc/hosts and co (as
	// dockerd's init layer keeps them out).
	rawR, rawW := io.Pipe()
	go func() { rawW.CloseWithError(d.snapshots.Diff(ctx, c.ID, rawW)) }()
	pr, pw := io.Pipe()
	go func() {
		err := dropInitFiles(rawR, pw)
		rawR.CloseWithError(io.ErrClosedPipe)
		pw.CloseWithError(err)
	}()
	id, err := d.images.Commit(ctx, pr, image.CommitOptions{
		Parent: parent, Config: cfg, Changes: changes, Ref: ref,
		Comment: comment, Author: author, CreatedBy: createdBy,
	})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return "", imageError(err)
	}
	d.LogContainerEvent(c, eventtypes.ActionCommit, map[string]string{"comment": comment, "imageID": id, "imageRef": familiarTag(ref)})
	if ref != "" {
		d.logImageEvent(ctx, id, familiarTag(ref), eventtypes.ActionTag)
	}
	return id, nil
}

// imageConfigOf is the image config a commit records for a container's
// config.
func imageConfigOf(c *ctypes.Config) dockerspec.DockerOCIImageConfig {
	var out dockerspec.DockerOCIImageConfig
	out.User = c.User
	out.Env = append([]string(nil), c.Env...)
	out.Entrypoint = append([]string(nil), c.Entrypoint...)
	out.Cmd = append([]string(nil), c.Cmd...)
	out.WorkingDir = c.WorkingDir
	out.StopSignal = c.StopSignal
	out.Healthcheck = c.Healthcheck
	out.OnBuild = append([]string(nil), c.OnBuild...)
	out.Shell = append([]string(nil), c.Shell...)
	if len(c.Labels) > 0 {
		out.Labels = map[string]string{}
		for k, v := range c.Labels {
			out.Labels[k] = v
		}
	}
	if len(c.ExposedPorts) > 0 {
		out.ExposedPorts = map[string]struct{}{}
		for p := range c.ExposedPorts {
			out.ExposedPorts[p.String()] = struct{}{}
		}
	}
	if len(c.Volumes) > 0 {
		out.Volumes = map[string]struct{}{}
		for v := range c.Volumes {
			out.Volumes[v] = struct{}{}
		}
	}
	return out
}

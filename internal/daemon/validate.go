package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/oci"
)

// verifyContainerSettings checks the parts of a create request that do not
// depend on the image or the host, the way dockerd's verifyContainerSettings
// does, with its wording: everything here is the user's to fix and classed
// errdefs.ErrInvalidParameter. Resource limits, mounts' paths, capabilities,
// ulimits and sysctls are checked by oci.Spec, which create runs once on a
// probe of the record (they need the host's facts).
func verifyContainerSettings(cfg *ctypes.Config, hc *ctypes.HostConfig) error {
	if cfg != nil {
		if s := cfg.StopSignal; s != "" {
			if _, err := ParseSignal(s); err != nil {
				return err
			}
		}
		if err := verifyHealthcheck(cfg.Healthcheck); err != nil {
			return err
		}
	}
	if hc == nil {
		return nil
	}
	if err := validateRestartPolicy(hc); err != nil {
		return err
	}
	if iso := hc.Isolation; iso != "" && !iso.IsDefault() {
		return invalidParam("Invalid isolation: %q - linux only supports 'default'", iso)
	}
	// The container ports (the keys) are checked when the body is decoded.
	for _, bindings := range hc.PortBindings {
		for _, pb := range bindings {
			if pb.HostPort != "" && !validPortRange(pb.HostPort) {
				return invalidParam("invalid port specification: %q", pb.HostPort)
			}
		}
	}
	for _, m := range hc.Mounts {
		if err := verifyMountType(m); err != nil {
			return err
		}
	}
	for _, h := range hc.ExtraHosts {
		if err := verifyExtraHost(h); err != nil {
			return err
		}
	}
	return nil
}

// verifyExtraHost checks an --add-host entry: "name:ip" or "name=ip", the
// address in brackets or not, or the special "host-gateway".
func verifyExtraHost(h string) error {
	name, ip, ok := strings.Cut(h, "=")
	if !ok {
		name, ip, ok = strings.Cut(h, ":")
	}
	if !ok || name == "" {
		return invalidParam("bad format for add-host: %q", h)
	}
	if ip == "host-gateway" {
		return nil
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")); err != nil {
		return invalidParam("invalid IP address in add-host: %q", ip)
	}
	return nil
}

// verifyHealthcheck: durations are either 0 (inherit the image's or the
// default) or at least 1 ms; Retries is not negative.
func verifyHealthcheck(h *ctypes.HealthConfig) error {
	if h == nil {
		return nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Interval", h.Interval}, {"Timeout", h.Timeout}, {"StartPeriod", h.StartPeriod}, {"StartInterval", h.StartInterval}} {
		if d.v != 0 && d.v < time.Millisecond {
			return invalidParam("%s in Healthcheck cannot be less than %s", d.name, time.Millisecond)
		}
	}
	if h.Retries < 0 {
		return invalidParam("Retries in Healthcheck cannot be negative")
	}
	return nil
}

// validPortRange accepts docker's host port forms: "8080" or "8000-8010",
// each port 0-65535 and the range not reversed.
func validPortRange(s string) bool {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return false
	}
	if !isRange {
		return true
	}
	b, err := strconv.ParseUint(hi, 10, 16)
	return err == nil && a <= b
}

// verifyMountType gives docker's messages for a --mount whose type is not
// one docker knows, or a bind without a source; the paths themselves are
// checked by oci.Spec.
func verifyMountType(m mount.Mount) error {
	switch m.Type {
	case mount.TypeBind:
		if m.Source == "" {
			return invalidParam("invalid mount config for type %q: field Source must not be empty", m.Type)
		}
	case mount.TypeVolume, mount.TypeTmpfs, mount.TypeNamedPipe, mount.TypeCluster, mount.TypeImage:
	default:
		return invalidParam("invalid mount config for type %q: mount type unknown", m.Type)
	}
	return nil
}

func invalidParam(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf(format, args...))
}

// probeSpec builds c's OCI spec once, as start will, to check the values
// that need the host's facts; it changes nothing on the host. The user is
// resolved at start, inside the image's rootfs, and binds are parsed
// without creating their sources.
func probeSpec(ctx context.Context, c *container.Container, opts oci.SpecOpts) error {
	probeCfg := *c.Config
	probeCfg.User = ""
	probeHC := *c.HostConfig
	probeHC.Binds = nil
	// A bind and a --mount at one destination: docker refuses at create;
	// the spec probe cannot see it, binds being left out of it.
	dsts := map[string]bool{}
	for _, b := range c.HostConfig.Binds {
		bd, err := container.ParseBind(b)
		if err != nil {
			return classify(err)
		}
		dst := path.Clean(bd.Destination)
		if dsts[dst] {
			return invalidParam("Duplicate mount point: %s", dst)
		}
		if dst == "/proc" || strings.HasPrefix(dst, "/proc/") {
			return invalidParam("invalid mount config: %q cannot be mounted because it is inside /proc", dst)
		}
		dsts[dst] = true
	}
	for _, m := range c.HostConfig.Mounts {
		if dst := path.Clean(m.Target); dsts[dst] {
			return invalidParam("Duplicate mount point: %s", dst)
		}
	}
	useInit := (probeHC.Init != nil && *probeHC.Init) || (probeHC.Init == nil && opts.DefaultInit)
	if useInit && opts.InitPath == "" {
		return errdefs.New(errdefs.ErrInvalidParameter, "the daemon has no init binary (berth-init beside berthd or in PATH, or an executable --init-path): run without --init")
	}
	probe := container.New(c.ID, c.Name, &probeCfg, &probeHC, c.Created)
	probe.Volumes = c.Volumes
	opts.RootfsPath = ""
	_, err := oci.Spec(ctx, probe, opts)
	return classify(err)
}

// checkCreateRequest is the part of create that needs neither the image
// nor the stores: the request's shape, verifyContainerSettings, the log
// driver and the name (normalised to "/name"; "" stays "" for the caller
// to generate one). hc is never nil.
func checkCreateRequest(name string, req *ctypes.CreateRequest) (*ctypes.Config, *ctypes.HostConfig, string, error) {
	if req == nil || req.Config == nil {
		return nil, nil, "", errdefs.New(errdefs.ErrInvalidParameter, "config cannot be empty in order to create a container")
	}
	cfg := req.Config
	hc := req.HostConfig
	if hc == nil {
		hc = &ctypes.HostConfig{}
	}
	if cfg.Image == "" {
		return nil, nil, "", errdefs.New(errdefs.ErrInvalidParameter, "no image specified")
	}
	if _, err := reference.ParseAnyReference(cfg.Image); err != nil {
		return nil, nil, "", errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	if err := verifyContainerSettings(cfg, hc); err != nil {
		return nil, nil, "", err
	}
	if t := hc.LogConfig.Type; t != "" && t != container.DefaultLogDriver && t != "none" {
		return nil, nil, "", invalidParam("logging driver %q is not supported by berth yet", t)
	}
	if name != "" {
		n, err := container.ValidateName(name)
		if err != nil {
			return nil, nil, "", classify(err)
		}
		name = n
	}
	return cfg, hc, name, nil
}

// checkContainerRefs answers VolumesFrom and Links as dockerd does for a
// container that does not exist (a 400 naming it); links to one that does
// are legacy links, on the default bridge only (/etc/hosts entries).
func (d *Daemon) checkContainerRefs(hc *ctypes.HostConfig) error {
	for _, v := range hc.VolumesFrom {
		ref, _, _ := strings.Cut(v, ":")
		if _, err := d.containers.Get(ref); err != nil {
			return errdefs.New(errdefs.ErrInvalidParameter, "No such container: "+ref)
		}
	}
	for _, l := range hc.Links {
		ref, _, _ := strings.Cut(l, ":")
		if _, err := d.containers.Get(strings.TrimPrefix(ref, "/")); err != nil {
			return invalidParam("could not get container for %s: No such container: %s", ref, ref)
		}
		if networkKind(hc.NetworkMode) != netAttached || primaryNetwork(hc.NetworkMode) != "bridge" {
			return invalidParam("conflicting options: links are supported on the default bridge network only")
		}
	}
	return nil
}

package daemon

import (
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/berth-engine/berth/internal/container"
)

// TestPlanVolumes: what each form of a create request resolves to, before
// anything exists.
func TestPlanVolumes(t *testing.T) {
	d := emptyStores(t)
	src := container.New(container.NewID(), "/src", &ctypes.Config{Image: "busybox"}, &ctypes.HostConfig{Binds: []string{"/srv:/srv:ro"}}, time.Now())
	src.Volumes = []container.VolumeMount{{Type: mount.TypeVolume, Name: "shared", Source: d.vols.Path("shared"), Destination: "/s", RW: true, Anonymous: true, CopyData: true}}
	if err := d.containers.Add(src); err != nil {
		t.Fatal(err)
	}
	cfg := &ctypes.Config{Volumes: map[string]struct{}{"/req": {}, "/bound": {}}}
	hc := &ctypes.HostConfig{
		Binds:       []string{"data:/data:ro,nocopy", "/anon", "/host:/bound"},
		Mounts:      []mount.Mount{{Type: mount.TypeVolume, Source: "m1", Target: "/m1/"}, {Type: mount.TypeTmpfs, Target: "/img"}},
		VolumesFrom: []string{"src:ro"},
	}
	planned, err := d.planVolumes(cfg, hc, map[string]struct{}{"/img": {}, "/imgvol": {}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]container.VolumeMount{}
	for _, p := range planned {
		got[p.Destination] = p.VolumeMount
	}
	check := func(dst string, want container.VolumeMount) {
		t.Helper()
		g, ok := got[dst]
		if !ok {
			t.Errorf("%s: not planned", dst)
			return
		}
		if want.Anonymous {
			if len(g.Name) != 64 || g.Source != d.vols.Path(g.Name) {
				t.Errorf("%s: anonymous name %q source %q", dst, g.Name, g.Source)
			}
			want.Name, want.Source = g.Name, g.Source
		}
		if g != want {
			t.Errorf("%s:\n got %+v\nwant %+v", dst, g, want)
		}
	}
	check("/data", container.VolumeMount{Type: mount.TypeVolume, Name: "data", Source: d.vols.Path("data"), Destination: "/data", Mode: "ro,nocopy"})
	check("/anon", container.VolumeMount{Type: mount.TypeVolume, Destination: "/anon", RW: true, Anonymous: true, CopyData: true})
	check("/m1", container.VolumeMount{Type: mount.TypeVolume, Name: "m1", Source: d.vols.Path("m1"), Destination: "/m1", RW: true, Mode: "z", CopyData: true})
	check("/s", container.VolumeMount{Type: mount.TypeVolume, Name: "shared", Source: d.vols.Path("shared"), Destination: "/s", Propagation: mount.PropagationRPrivate})
	check("/srv", container.VolumeMount{Type: mount.TypeBind, Source: "/srv", Destination: "/srv", Mode: "ro", Propagation: mount.PropagationRPrivate})
	check("/req", container.VolumeMount{Type: mount.TypeVolume, Destination: "/req", RW: true, Anonymous: true, CopyData: true})
	check("/imgvol", container.VolumeMount{Type: mount.TypeVolume, Destination: "/imgvol", RW: true, Anonymous: true, CopyData: true})
	// Covered by a bind and a tmpfs: no volume there.
	for _, dst := range []string{"/bound", "/img", "/host"} {
		if _, ok := got[dst]; ok {
			t.Errorf("%s planned as a volume", dst)
		}
	}
	if len(planned) != 7 {
		t.Errorf("%d volumes planned: %+v", len(planned), planned)
	}
	if vs := d.vols.List(); len(vs) != 0 {
		t.Errorf("planning created volumes: %+v", vs)
	}

	for _, tc := range []struct {
		name string
		hc   ctypes.HostConfig
		want string
	}{
		{"volumes-from mode", ctypes.HostConfig{VolumesFrom: []string{"src:rx"}}, "invalid mode for volumes-from: rx"},
		{"volume driver", ctypes.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "v", Target: "/v", VolumeOptions: &mount.VolumeOptions{DriverConfig: &mount.Driver{Name: "nfs"}}}}}, `volume driver "nfs" is not available`},
		{"subpath", ctypes.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "v", Target: "/v", VolumeOptions: &mount.VolumeOptions{Subpath: "x"}}}}, "subpath is not supported"},
		{"bind options on a volume", ctypes.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "vol", Target: "/v", BindOptions: &mount.BindOptions{}}}}, "field BindOptions must not be specified"},
		{"one-letter name", ctypes.HostConfig{Binds: []string{"v:/v"}}, "volume name is too short"},
		{"propagation on a volume", ctypes.HostConfig{Binds: []string{"vol:/v:rshared"}}, `invalid volume specification: 'vol:/v:rshared': invalid mount config for type "volume": field BindOptions must not be specified`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.planVolumes(&ctypes.Config{}, &tc.hc, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

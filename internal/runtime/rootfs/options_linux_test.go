package rootfs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want mountOpts
	}{
		{name: "empty", in: nil, want: mountOpts{}},
		{
			name: "default /dev tmpfs",
			in:   []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
			want: mountOpts{set: unix.MS_NOSUID | unix.MS_STRICTATIME, data: []string{"mode=755", "size=65536k"}},
		},
		{
			name: "devpts data keeps its order",
			in:   []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
			want: mountOpts{set: unix.MS_NOSUID | unix.MS_NOEXEC, data: []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		},
		{name: "ro then rw clears", in: []string{"ro", "rw"}, want: mountOpts{clear: unix.MS_RDONLY}},
		{name: "rw then ro sets", in: []string{"rw", "ro"}, want: mountOpts{set: unix.MS_RDONLY}},
		{
			name: "clearing words",
			in:   []string{"suid", "dev", "exec", "async", "atime", "diratime", "norelatime", "nostrictatime", "nomand", "symfollow"},
			want: mountOpts{clear: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS | unix.MS_NOATIME |
				unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_MANDLOCK | unix.MS_NOSYMFOLLOW},
		},
		{
			name: "setting words",
			in:   []string{"sync", "dirsync", "remount", "mand", "noatime", "nodiratime", "relatime", "nosymfollow", "defaults"},
			want: mountOpts{set: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_REMOUNT | unix.MS_MANDLOCK | unix.MS_NOATIME |
				unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_NOSYMFOLLOW},
		},
		{name: "bind", in: []string{"bind"}, want: mountOpts{set: unix.MS_BIND}},
		{name: "rbind ro", in: []string{"rbind", "ro"}, want: mountOpts{set: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY}},
		{
			name: "propagation words keep their order",
			in:   []string{"rbind", "rslave", "shared", "runbindable", "private"},
			want: mountOpts{set: unix.MS_BIND | unix.MS_REC, propagation: []uintptr{
				unix.MS_SLAVE | unix.MS_REC, unix.MS_SHARED, unix.MS_UNBINDABLE | unix.MS_REC, unix.MS_PRIVATE,
			}},
		},
		{
			name: "recursive flags",
			in:   []string{"rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"},
			want: mountOpts{set: unix.MS_BIND | unix.MS_REC, rec: true, recSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID |
				unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW},
		},
		{
			name: "recursive clear after set",
			in:   []string{"rro", "rrw", "rsuid"},
			want: mountOpts{rec: true, recClr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID},
		},
		{
			name: "recursive noatime",
			in:   []string{"rnoatime"},
			want: mountOpts{rec: true, recClr: unix.MOUNT_ATTR__ATIME, recSet: unix.MOUNT_ATTR_NOATIME},
		},
		{
			name: "recursive atime word replaces the previous one",
			in:   []string{"rnoatime", "rstrictatime"},
			want: mountOpts{rec: true, recClr: unix.MOUNT_ATTR__ATIME, recSet: unix.MOUNT_ATTR_STRICTATIME},
		},
		{
			name: "ratime lands on relatime",
			in:   []string{"rnoatime", "ratime"},
			want: mountOpts{rec: true, recClr: unix.MOUNT_ATTR__ATIME, recSet: unix.MOUNT_ATTR_RELATIME},
		},
		{
			name: "userspace-only and empty words are dropped",
			in:   []string{"x-systemd.automount", "", "size=1m"},
			want: mountOpts{data: []string{"size=1m"}},
		},
		{
			name: "unknown words are filesystem data",
			in:   []string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "ro"},
			want: mountOpts{set: unix.MS_RDONLY, data: []string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.in)
			if err != nil {
				t.Fatalf("parseOptions(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseOptions(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseOptionsRefused(t *testing.T) {
	for _, tt := range []struct{ name, word, want string }{
		{"idmap", "idmap", "idmapped"},
		{"recursive idmap", "ridmap", "idmapped"},
		{"tmpfs copy-up", "tmpcopyup", "copy-up"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions([]string{"rbind", tt.word})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseOptions(%q) = %v, want an error about %q", tt.word, err, tt.want)
			}
		})
	}
}

func TestEveryFlagWordChangesSomething(t *testing.T) {
	for w := range flagWords {
		if w == "defaults" {
			continue
		}
		o, err := parseOptions([]string{w})
		if err != nil {
			t.Fatalf("%s: %v", w, err)
		}
		if o.set == 0 && o.clear == 0 {
			t.Errorf("%q changes no flag", w)
		}
		if len(o.data) != 0 {
			t.Errorf("%q became data", w)
		}
	}
	for w := range recursiveWords {
		o, err := parseOptions([]string{w})
		if err != nil || !o.rec || o.recSet|o.recClr == 0 {
			t.Errorf("%q: %+v, %v", w, o, err)
		}
	}
}

func TestParsePropagation(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     uintptr
		wantErr  bool
	}{
		{name: "unset", in: "", want: 0},
		{name: "shared", in: "shared", want: unix.MS_SHARED},
		{name: "rshared", in: "rshared", want: unix.MS_SHARED | unix.MS_REC},
		{name: "slave", in: "slave", want: unix.MS_SLAVE},
		{name: "rslave", in: "rslave", want: unix.MS_SLAVE | unix.MS_REC},
		{name: "private", in: "private", want: unix.MS_PRIVATE},
		{name: "rprivate", in: "rprivate", want: unix.MS_PRIVATE | unix.MS_REC},
		{name: "unbindable", in: "unbindable", want: unix.MS_UNBINDABLE},
		{name: "runbindable", in: "runbindable", want: unix.MS_UNBINDABLE | unix.MS_REC},
		{name: "a flag word", in: "ro", wantErr: true},
		{name: "garbage", in: "sharedd", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePropagation(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parsePropagation(%q) = %#x, %v; want %#x, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestStatfsFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   int64
		want uintptr
	}{
		{name: "none", in: 0, want: 0},
		{name: "ro nosuid relatime", in: unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_RELATIME, want: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_RELATIME},
		{name: "nodev noexec noatime nodiratime", in: unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_NODIRATIME,
			want: unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME},
		{name: "nosymfollow has a different bit", in: 0x2000, want: unix.MS_NOSYMFOLLOW},
		{name: "ST_VALID is ignored", in: 0x20, want: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := unix.Statfs_t{Flags: tt.in}
			if got := statfsFlags(&st); got != tt.want {
				t.Fatalf("statfsFlags(%#x) = %#x, want %#x", tt.in, got, tt.want)
			}
		})
	}
}

func TestMountAttrs(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   uintptr
		want int
	}{
		{name: "default cgroup options", in: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RELATIME | unix.MS_RDONLY,
			want: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_RELATIME},
		{name: "strictatime", in: unix.MS_STRICTATIME, want: unix.MOUNT_ATTR_STRICTATIME},
		{name: "noatime nodiratime", in: unix.MS_NOATIME | unix.MS_NODIRATIME, want: unix.MOUNT_ATTR_NOATIME | unix.MOUNT_ATTR_NODIRATIME},
		{name: "non-mount flags are dropped", in: unix.MS_SYNCHRONOUS | unix.MS_BIND, want: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := mountAttrs(tt.in); got != tt.want {
				t.Fatalf("mountAttrs(%#x) = %#x, want %#x", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseProcCgroup(t *testing.T) {
	in := "12:cpu,cpuacct:/a/b\n11:name=systemd:/user.slice\n10:net_cls,net_prio:/\n3:memory:/x:y\n0::/init.scope\n"
	got, err := parseProcCgroup(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []cgroupLine{
		{dir: "cpu,cpuacct", controllers: []string{"cpu", "cpuacct"}, path: "/a/b"},
		{dir: "systemd", name: "systemd", path: "/user.slice"},
		{dir: "net_cls,net_prio", controllers: []string{"net_cls", "net_prio"}, path: "/"},
		{dir: "memory", controllers: []string{"memory"}, path: "/x:y"},
		{dir: "", path: "/init.scope"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseProcCgroup:\n got %+v\nwant %+v", got, want)
	}
	if l := got[0].links(); !reflect.DeepEqual(l, []string{"cpu", "cpuacct"}) {
		t.Errorf("links of cpu,cpuacct = %q", l)
	}
	if l := got[1].links(); l != nil {
		t.Errorf("links of systemd = %q, want none", l)
	}
	if _, err := parseProcCgroup("garbage\n"); err == nil {
		t.Error("a malformed line was accepted")
	}
}

func TestDeviceList(t *testing.T) {
	mode := func(m os.FileMode) *os.FileMode { return &m }
	id := func(v uint32) *uint32 { return &v }
	spec := &specs.Spec{Linux: &specs.Linux{Devices: []specs.LinuxDevice{
		{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: mode(0o600)},
		{Path: "dev/fuse", Type: "u", Major: 10, Minor: 229, UID: id(7), GID: id(8)},
		{Path: "/dev/fifo", Type: "p", Major: 9, Minor: 9, FileMode: mode(0o620)},
		{Path: "/dev/loop0", Type: "b", Major: 7, Minor: 0, FileMode: mode(os.FileMode(unix.S_IFBLK | 0o660))},
		{Path: "/dev/ptmx", Type: "c", Major: 5, Minor: 2},
	}}}
	got, err := deviceList(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []device{
		{path: "/dev/null", kind: unix.S_IFCHR, major: 1, minor: 3, mode: 0o600},
		{path: "/dev/fuse", kind: unix.S_IFCHR, major: 10, minor: 229, mode: 0o666, uid: 7, gid: 8},
		{path: "/dev/fifo", kind: unix.S_IFIFO, mode: 0o620},
		{path: "/dev/loop0", kind: unix.S_IFBLK, major: 7, minor: 0, mode: 0o660},
	}
	for _, d := range defaultDevices {
		if d.path != "/dev/null" {
			want = append(want, d)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("deviceList:\n got %+v\nwant %+v", got, want)
	}

	for _, tt := range []struct {
		name string
		dev  specs.LinuxDevice
	}{
		{"unknown type", specs.LinuxDevice{Path: "/dev/x", Type: "s"}},
		{"negative major", specs.LinuxDevice{Path: "/dev/x", Type: "c", Major: -1}},
		{"minor too big", specs.LinuxDevice{Path: "/dev/x", Type: "c", Minor: 1 << 20}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := deviceList(&specs.Spec{Linux: &specs.Linux{Devices: []specs.LinuxDevice{tt.dev}}}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestParseMountinfo(t *testing.T) {
	in := "22 27 0:21 / /proc rw,relatime shared:5 - proc proc rw\n" +
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
		"40 27 0:40 /sub /a\\040b\\134c rw - ext4 /dev/vda rw\n" +
		"short line\n"
	got := parseMountinfo(in)
	want := []mountinfoEntry{
		{id: 22, parent: 27, dev: "0:21", root: "/", mountpoint: "/proc", fstype: "proc"},
		{id: 31, parent: 23, dev: "0:28", root: "/", mountpoint: "/sys/fs/cgroup", fstype: "tmpfs"},
		{id: 40, parent: 27, dev: "0:40", root: "/sub", mountpoint: `/a b\c`, fstype: "ext4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseMountinfo:\n got %+v\nwant %+v", got, want)
	}
	if got := unescapeMountinfo(`trailing\04`); got != `trailing\04` {
		t.Errorf("a short escape changed: %q", got)
	}
}

// TestIsSelfBind: Cleanup removes a mount only when it shows what lies
// beneath it; the caller's own mounts at the rootfs must be told apart.
func TestIsSelfBind(t *testing.T) {
	root := &mountinfoEntry{id: 1, dev: "254:0", root: "/", mountpoint: "/"}
	tmp := &mountinfoEntry{id: 2, parent: 1, dev: "0:30", root: "/", mountpoint: "/tmp"}
	bindDir := &mountinfoEntry{id: 3, parent: 1, dev: "254:0", root: "/srv/data", mountpoint: "/data"}
	overlay := &mountinfoEntry{id: 4, parent: 1, dev: "0:50", root: "/", mountpoint: "/var/lib/b/rootfs"}
	for _, tt := range []struct {
		name      string
		m, parent *mountinfoEntry
		want      bool
	}{
		{"plain directory on /", &mountinfoEntry{dev: "254:0", root: "/var/lib/b/rootfs", mountpoint: "/var/lib/b/rootfs"}, root, true},
		{"plain directory on a tmpfs", &mountinfoEntry{dev: "0:30", root: "/x/rootfs", mountpoint: "/tmp/x/rootfs"}, tmp, true},
		{"directory of a bind mount", &mountinfoEntry{dev: "254:0", root: "/srv/data/c/rootfs", mountpoint: "/data/c/rootfs"}, bindDir, true},
		{"stacked on an overlay", &mountinfoEntry{dev: "0:50", root: "/", mountpoint: "/var/lib/b/rootfs"}, overlay, true},
		{"the overlay itself", overlay, root, false},
		{"bind of another directory", &mountinfoEntry{dev: "254:0", root: "/elsewhere", mountpoint: "/var/lib/b/rootfs"}, root, false},
		{"bind of a subdirectory of the overlay", &mountinfoEntry{dev: "0:50", root: "/sub", mountpoint: "/var/lib/b/rootfs"}, overlay, false},
		{"other filesystem", &mountinfoEntry{dev: "0:99", root: "/tmp/x/rootfs", mountpoint: "/tmp/x/rootfs"}, tmp, false},
		{"prefix that is not a parent directory", &mountinfoEntry{dev: "0:30", root: "/x", mountpoint: "/tmpx/x"}, tmp, false},
		{"unknown parent", &mountinfoEntry{dev: "254:0", root: "/a", mountpoint: "/a"}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := isSelfBind(tt.m, tt.parent); got != tt.want {
				t.Errorf("isSelfBind = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCleanupNothingMounted: Cleanup only reads when nothing is mounted (so
// it runs unprivileged), and refuses paths it must never touch.
func TestCleanupNothingMounted(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Join(dir, "missing", "rootfs")} {
		if err := Cleanup(p); err != nil {
			t.Errorf("Cleanup(%s) = %v, want nil", p, err)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("/", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "relative/rootfs", "/", "/tmp/..", link} {
		if err := Cleanup(p); err == nil {
			t.Errorf("Cleanup(%q) accepted", p)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	spec := &specs.Spec{}
	for _, tt := range []struct {
		name string
		cfg  *Config
		ok   bool
	}{
		{"good", &Config{Rootfs: "/b/rootfs", Spec: spec}, true},
		{"nil config", nil, false},
		{"no spec", &Config{Rootfs: "/b/rootfs"}, false},
		{"relative", &Config{Rootfs: "b/rootfs", Spec: spec}, false},
		{"unclean", &Config{Rootfs: "/b/../rootfs/", Spec: spec}, false},
		{"host root", &Config{Rootfs: "/", Spec: spec}, false},
		{"no mount namespace", &Config{Rootfs: "/b/rootfs", Spec: spec, NoMountNS: true}, true},
		{"no mount namespace in a user namespace", &Config{Rootfs: "/b/rootfs", Spec: spec, NoMountNS: true, UserNS: true}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.check(); (err == nil) != tt.ok {
				t.Fatalf("check() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestBindsDev(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    specs.Mount
		want bool
	}{
		{"tmpfs", specs.Mount{Destination: "/dev", Type: "tmpfs"}, false},
		{"bind type", specs.Mount{Destination: "/dev", Type: "bind"}, true},
		{"rbind option, unclean path", specs.Mount{Destination: "/dev/", Options: []string{"rbind"}}, true},
		{"bind elsewhere", specs.Mount{Destination: "/dev/shm", Type: "bind"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := bindsDev(&specs.Spec{Mounts: []specs.Mount{tt.m}}); got != tt.want {
				t.Fatalf("bindsDev = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEntryPointsCheckConfig(t *testing.T) {
	// A bad config is refused before anything is mounted.
	for name, f := range map[string]func(*Config) error{"Prepare": Prepare, "Pivot": Pivot, "Finish": Finish} {
		if err := f(&Config{Rootfs: "relative"}); err == nil {
			t.Errorf("%s accepted a config without spec", name)
		}
	}
}

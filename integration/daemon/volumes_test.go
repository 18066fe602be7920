package daemon

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/testutil"
)

// volumeDaemon is containerDaemon that also removes every volume left at
// the end, and checks that no volume is still mounted.
func volumeDaemon(t *testing.T) *daemon {
	d := containerDaemon(t)
	// Registered after containerDaemon's cleanup, so it runs first: the
	// containers go here too, before their volumes.
	t.Cleanup(func() {
		select {
		case <-d.exited: // killed by the cleanup of a restart within the test
			d.start()
		default:
		}
		if out, _ := d.docker("ps", "-aq"); out != "" {
			for _, id := range strings.Fields(out) {
				_, _ = d.docker("rm", "-f", "-v", id)
			}
		}
		out, _ := d.docker("volume", "ls", "-q")
		for _, v := range strings.Fields(out) {
			if o, err := d.docker("volume", "rm", "-f", v); err != nil {
				t.Errorf("cleanup volume rm %s: %v\n%s", v, err, o)
			}
		}
		if b, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(b, []byte(filepath.Join(d.DataRoot, "volumes"))) {
			t.Errorf("volume mounts left:\n%s", b)
		}
	})
	return d
}

func (d *daemon) mustFail(want string, args ...string) {
	d.t.Helper()
	out, err := d.docker(args...)
	if err == nil || !strings.Contains(out, want) {
		d.t.Fatalf("docker %s: %v %q, want an error containing %q", strings.Join(args, " "), err, out, want)
	}
}

func TestVolumeNamedShared(t *testing.T) {
	d := volumeDaemon(t)
	if out := d.mustDocker("volume", "create", "--label", "k=v", "data"); out != "data" {
		t.Fatalf("volume create printed %q", out)
	}
	d.mustDocker("run", "--rm", "-v", "data:/d", "busybox", "sh", "-c", "echo hello > /d/f")
	if out := d.mustDocker("run", "--rm", "-v", "data:/d:ro", "busybox", "cat", "/d/f"); out != "hello" {
		t.Fatalf("second container read %q", out)
	}
	d.mustFail("Read-only file system", "run", "--rm", "-v", "data:/d:ro", "busybox", "touch", "/d/g")
	out := d.mustDocker("volume", "inspect", "-f", "{{.Driver}} {{.Scope}} {{.Labels}} {{.Mountpoint}}", "data")
	if want := "local local map[k:v] " + filepath.Join(d.DataRoot, "volumes", "data", "_data"); out != want {
		t.Fatalf("volume inspect: %q, want %q", out, want)
	}

	// In use by a container, even a stopped one: docker's 409.
	d.mustDocker("create", "--name", "holder", "-v", "data:/d", "busybox", "true")
	d.mustFail("volume is in use", "volume", "rm", "data")
	d.mustFail("volume is in use", "volume", "rm", "-f", "data")
	out = d.mustDocker("inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.Driver}} {{.RW}}{{end}}", "holder")
	if out != "volume data /d local true" {
		t.Fatalf("inspect Mounts: %q", out)
	}
	if out := d.mustDocker("volume", "ls", "-q", "--filter", "dangling=true"); out != "" {
		t.Fatalf("dangling while in use: %q", out)
	}
	d.mustDocker("rm", "holder")
	if out := d.mustDocker("volume", "ls", "-q", "--filter", "dangling=true", "--filter", "label=k=v"); out != "data" {
		t.Fatalf("dangling after rm: %q", out)
	}
	d.mustDocker("volume", "rm", "data")
	d.mustFail("no such volume", "volume", "inspect", "data")
	d.mustFail("Invalid filter 'bogus'", "volume", "ls", "-f", "bogus=1")
	d.mustFail("Invalid filter 'dangling=[maybe]'", "volume", "ls", "-f", "dangling=maybe")
	d.mustFail("Invalid filter 'bogus'", "volume", "prune", "-f", "--filter", "bogus=1")
}

func TestVolumeImageContentCopied(t *testing.T) {
	d := volumeDaemon(t)
	// A fresh named volume mounted on /bin gets the image's /bin.
	d.mustDocker("run", "--rm", "-v", "binvol:/bin", "busybox", "true")
	if out := d.mustDocker("run", "--rm", "-v", "binvol:/x", "busybox", "ls", "/x"); !strings.Contains(out, "sh") {
		t.Fatalf("volume content: %q", out)
	}
	// volume-nocopy leaves it empty.
	d.mustDocker("create", "--name", "nc", "--mount", "type=volume,source=empty,target=/bin,volume-nocopy", "busybox", "true")
	d.mustDocker("rm", "nc")
	if out := d.mustDocker("run", "--rm", "-v", "empty:/x", "busybox", "ls", "-A", "/x"); out != "" {
		t.Fatalf("nocopy volume has %q", out)
	}
	// An image's VOLUME becomes an anonymous volume filled from the image.
	rootfs := t.TempDir()
	testutil.BusyboxRootfs(t, rootfs)
	if err := os.MkdirAll(filepath.Join(rootfs, "seed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "seed", "hello"), []byte("from image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(rootfs, "seed"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(rootfs, "seed"), 0o750); err != nil {
		t.Fatal(err)
	}
	tarball, err := exec.Command("tar", "-C", rootfs, "--numeric-owner", "-cf", "-", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker", "import", "--change", "VOLUME /seed", "--change", `CMD ["sh"]`, "-", "seeded")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Sock, "DOCKER_CONFIG="+filepath.Join(d.dir, "docker-config"))
	cmd.Stdin = bytes.NewReader(tarball)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = d.docker("rmi", "seeded") })
	d.mustDocker("run", "--name", "vc", "seeded", "sh", "-c", "echo more >> /seed/hello")
	out := d.mustDocker("inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}", "vc")
	if !regexp.MustCompile(`^volume [0-9a-f]{64} /seed$`).MatchString(out) {
		t.Fatalf("image VOLUME mount: %q", out)
	}
	name := strings.Fields(out)[1]
	if out := d.mustDocker("inspect", "-f", "{{json .Config.Volumes}}", "vc"); out != `{"/seed":{}}` {
		t.Fatalf("Config.Volumes: %s", out)
	}
	if out := d.mustDocker("ps", "-a", "--filter", "volume="+name, "--format", "{{.Names}}"); out != "vc" {
		t.Fatalf("ps --filter volume=: %q", out)
	}
	if out := d.mustDocker("ps", "-a", "--filter", "volume=/seed", "--format", "{{.Names}}"); out != "vc" {
		t.Fatalf("ps --filter volume=/seed: %q", out)
	}
	// The volume's root takes the image directory's owner and mode.
	if out := d.mustDocker("run", "--rm", "-v", name+":/s", "busybox", "sh", "-c", "stat -c '%a %u %g' /s; cat /s/hello"); out != "750 1000 1000\nfrom image\nmore" {
		t.Fatalf("anonymous volume content: %q", out)
	}
	d.mustDocker("rm", "-v", "vc")
	d.mustFail("no such volume", "volume", "inspect", name)
}

func TestVolumeAnonymousAndPrune(t *testing.T) {
	d := volumeDaemon(t)
	d.mustDocker("volume", "create", "named")
	d.mustDocker("run", "--name", "anon1", "-v", "/data", "busybox", "true")
	anon := d.mustDocker("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "anon1")
	if len(anon) != 64 {
		t.Fatalf("anonymous volume name %q", anon)
	}
	// rm without -v keeps it; prune then removes it but not the named one.
	d.mustDocker("rm", "anon1")
	d.mustDocker("volume", "inspect", anon)
	out := d.mustDocker("volume", "prune", "-f")
	if !strings.Contains(out, anon) || strings.Contains(out, "named") {
		t.Fatalf("volume prune: %q", out)
	}
	d.mustDocker("volume", "inspect", "named")
	if out := d.mustDocker("volume", "prune", "-f", "-a"); !strings.Contains(out, "named") {
		t.Fatalf("volume prune -a: %q", out)
	}
	// rm -v removes the anonymous volume, never a named one.
	d.mustDocker("run", "--name", "anon2", "-v", "/data", "-v", "keep:/keep", "busybox", "true")
	anon = d.mustDocker("inspect", "-f", `{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}`, "anon2")
	d.mustDocker("rm", "-v", "anon2")
	d.mustFail("no such volume", "volume", "inspect", anon)
	d.mustDocker("volume", "inspect", "keep")
	// run --rm takes its anonymous volumes along.
	d.mustDocker("run", "--rm", "-v", "/data", "busybox", "true")
	if out := d.mustDocker("volume", "ls", "-q"); out != "keep" {
		t.Fatalf("volumes after run --rm: %q", out)
	}
}

func TestVolumesFrom(t *testing.T) {
	d := volumeDaemon(t)
	d.mustDocker("run", "--name", "src", "-v", "shared:/s", "-v", "/anon", "busybox", "sh", "-c", "echo x > /s/f; echo y > /anon/f")
	if out := d.mustDocker("run", "--rm", "--volumes-from", "src", "busybox", "cat", "/s/f", "/anon/f"); out != "x\ny" {
		t.Fatalf("volumes-from read %q", out)
	}
	d.mustFail("Read-only file system", "run", "--rm", "--volumes-from", "src:ro", "busybox", "touch", "/s/g")
	d.mustFail("No such container: nosuch", "run", "--rm", "--volumes-from", "nosuch", "busybox", "true")
	d.mustDocker("rm", "-v", "src")
}

func TestVolumeSurvivesRestart(t *testing.T) {
	d := volumeDaemon(t)
	d.mustDocker("volume", "create", "--label", "a=b", "keep")
	d.mustDocker("run", "--rm", "-v", "keep:/k", "busybox", "sh", "-c", "echo kept > /k/f")
	d.mustDocker("create", "--name", "user", "-v", "keep:/k", "busybox", "true")
	created := d.mustDocker("volume", "inspect", "-f", "{{.CreatedAt}}", "keep")
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	d.start()
	if out := d.mustDocker("volume", "inspect", "-f", "{{.CreatedAt}} {{.Labels}}", "keep"); out != created+" map[a:b]" {
		t.Fatalf("after restart: %q, want %q", out, created+" map[a:b]")
	}
	d.mustFail("volume is in use", "volume", "rm", "keep")
	if out := d.mustDocker("run", "--rm", "-v", "keep:/k", "busybox", "cat", "/k/f"); out != "kept" {
		t.Fatalf("content after restart: %q", out)
	}
	d.mustDocker("rm", "user")
	d.mustDocker("volume", "rm", "keep")
}

func TestVolumeTmpfsOptions(t *testing.T) {
	d := volumeDaemon(t)
	d.mustDocker("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=2m,mode=0750", "t1")
	out := d.mustDocker("run", "--rm", "-v", "t1:/t", "busybox", "sh", "-c", "grep ' /t ' /proc/mounts; stat -c %a /t")
	if !strings.Contains(out, "tmpfs /t tmpfs") || !strings.Contains(out, "size=2048k") || !strings.HasSuffix(out, "750") {
		t.Fatalf("tmpfs volume: %q", out)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(b, []byte(filepath.Join(d.DataRoot, "volumes", "t1"))) {
		t.Fatal("tmpfs volume still mounted after its container exited")
	}
	// A container holding it across a kill -9 of berthd: the same tmpfs
	// is used by the next container (not a second one stacked on it),
	// and it is unmounted after the last one, even one that ended
	// while berthd was down.
	mnt := filepath.Join(d.DataRoot, "volumes", "t1", "_data")
	mounts := func() int {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 4 && f[4] == mnt {
				n++
			}
		}
		return n
	}
	d.mustDocker("run", "-d", "--name", "holder", "-v", "t1:/t", "busybox", "sh", "-c", "echo kept > /t/f; sleep 100")
	d.mustDocker("run", "-d", "--name", "short", "-v", "t1:/t", "busybox", "sleep", "1")
	d.kill()
	time.Sleep(1500 * time.Millisecond) // short ends while berthd is down
	d.start()
	if out := d.mustDocker("run", "--rm", "-v", "t1:/t", "busybox", "cat", "/t/f"); out != "kept" || mounts() != 1 {
		t.Fatalf("after a restart: %q, %d mounts", out, mounts())
	}
	d.mustDocker("wait", "short")
	d.mustDocker("rm", "-f", "holder", "short")
	if n := mounts(); n != 0 {
		t.Fatalf("%d mounts left after the last container", n)
	}
	if out := d.mustDocker("volume", "inspect", "-f", "{{.Options}}", "t1"); out != "map[device:tmpfs o:size=2m,mode=0750 type:tmpfs]" {
		t.Fatalf("options: %q", out)
	}
	// type=none,o=bind: a host directory behind a volume name.
	host := t.TempDir()
	d.mustDocker("volume", "create", "--opt", "type=none", "--opt", "device="+host, "--opt", "o=bind", "hostvol")
	d.mustDocker("run", "--rm", "-v", "hostvol:/h", "busybox", "sh", "-c", "echo via-volume > /h/f")
	if b, err := os.ReadFile(filepath.Join(host, "f")); err != nil || string(b) != "via-volume\n" {
		t.Fatalf("bind volume: %q %v", b, err)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(b, []byte(filepath.Join(d.DataRoot, "volumes", "hostvol"))) {
		t.Fatal("bind volume still mounted after its container exited")
	}
	d.mustDocker("volume", "rm", "hostvol")
	if _, err := os.Stat(filepath.Join(host, "f")); err != nil {
		t.Fatalf("removing the volume touched the host directory: %v", err)
	}
	d.mustFail(`create t2: invalid option: "bogus"`, "volume", "create", "--opt", "bogus=1", "t2")
	d.mustFail(`create t3: missing required option: "device"`, "volume", "create", "--opt", "type=tmpfs", "t3")
}

func TestVolumeBadRequests(t *testing.T) {
	d := volumeDaemon(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"volume create with slash", []string{"volume", "create", "a/b"}, "includes invalid characters for a local volume name"},
		{"mount name with slash", []string{"run", "--rm", "--mount", "type=volume,source=a/b,target=/x", "busybox", "true"}, "includes invalid characters"},
		{"bind inside proc", []string{"run", "--rm", "-v", "/tmp:/proc/x", "busybox", "true"}, "inside /proc"},
		{"volume inside proc", []string{"run", "--rm", "-v", "v1:/proc/sys", "busybox", "true"}, "inside /proc"},
		{"other driver", []string{"volume", "create", "-d", "nfs", "v2"}, "plugin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := d.docker(tc.args...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("%v %q, want an error containing %q", err, out, tc.want)
			}
			if out := d.mustDocker("volume", "ls", "-q"); out != "" {
				t.Fatalf("volumes created: %q", out)
			}
			if out := d.mustDocker("ps", "-aq"); out != "" {
				t.Fatalf("containers created: %q", out)
			}
		})
	}
	// Through the API (the docker CLI turns "../../etc" into a host path
	// before it asks): a 400 and nothing created.
	for _, tc := range []struct{ name, path, body, want string }{
		{"-v ../../etc", "/containers/create", `{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["../../etc:/x"]}}`, `\"../../etc\" includes invalid characters for a local volume name`},
		{"volume create ../../etc", "/volumes/create", `{"Name":"../../etc"}`, "includes invalid characters"},
		{"volume create a/b", "/volumes/create", `{"Name":"a/b"}`, "includes invalid characters"},
		{"mount target in /proc", "/containers/create", `{"Image":"busybox","Cmd":["true"],"HostConfig":{"Mounts":[{"Type":"volume","Source":"v3","Target":"/proc/x"}]}}`, "inside /proc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := d.http().Post("http://berth/v1.47"+tc.path, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%d %s, want 400 containing %q", resp.StatusCode, b, tc.want)
			}
			if out := d.mustDocker("volume", "ls", "-q"); out != "" {
				t.Fatalf("volumes created: %q", out)
			}
			if out := d.mustDocker("ps", "-aq"); out != "" {
				t.Fatalf("containers created: %q", out)
			}
		})
	}
}

// TestBerthCLIVolumes drives the volume verbs and -v through the berth CLI.
func TestBerthCLIVolumes(t *testing.T) {
	b := berthDaemon(t)
	t.Cleanup(func() {
		out, _, _ := b.run("", "volume", "ls", "-q")
		for _, v := range strings.Fields(out) {
			if o, e, code := b.run("", "volume", "rm", "-f", v); code != 0 {
				t.Errorf("cleanup volume rm %s: %d %s %s", v, code, o, e)
			}
		}
	})
	if out, errOut, code := b.run(busyboxImageTar(t), "import", "-c", `CMD ["sh"]`, "-", "busybox:latest"); code != 0 {
		t.Fatalf("berth import: exit %d, %q %q", code, out, errOut)
	}
	if out := b.must("volume", "create", "--label", "app=web", "web"); out != "web" {
		t.Fatalf("volume create: %q", out)
	}
	// A generated name does not make a volume anonymous: prune keeps it.
	gen := b.must("volume", "create")
	if len(gen) != 64 {
		t.Fatalf("volume create without a name: %q", gen)
	}
	b.must("run", "--rm", "-v", "web:/w", "busybox", "sh", "-c", "echo hi > /w/f")
	b.must("run", "--name", "user", "-v", "web:/w", "-v", "/anon", "busybox", "cat", "/w/f")
	if out := b.must("logs", "user"); out != "hi" {
		t.Fatalf("logs: %q", out)
	}
	if out := b.must("volume", "ls", "--filter", "label=app=web"); out != "DRIVER    VOLUME NAME\nlocal     web" {
		t.Fatalf("volume ls: %q", out)
	}
	if out := b.must("volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels.app}}", "web"); out != "web local web" {
		t.Fatalf("volume inspect: %q", out)
	}
	if out, errOut, code := b.run("", "volume", "rm", "web"); code != 1 || !strings.Contains(errOut, "volume is in use") {
		t.Fatalf("volume rm in use: %d %q %q", code, out, errOut)
	}
	b.must("rm", "user") // without -v: the anonymous volume stays, for prune
	if out := b.must("volume", "prune", "-f"); !strings.HasPrefix(out, "Deleted Volumes:\n") || strings.Contains(out, "web") || strings.Contains(out, gen) {
		t.Fatalf("volume prune: %q", out)
	}
	if out := b.must("volume", "ls", "-q"); out != gen+"\nweb" && out != "web\n"+gen {
		t.Fatalf("after prune: %q", out)
	}
	b.must("volume", "rm", gen)
	if out := b.must("volume", "rm", "web"); out != "web" {
		t.Fatalf("volume rm: %q", out)
	}
}

// TestMountForms: a read-only bind refuses writes, --mount tmpfs gets its
// size and mode, and the volume events come as dockerd sends them.
func TestMountForms(t *testing.T) {
	d := volumeDaemon(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := d.mustDocker("run", "--rm", "-v", host+":/h:ro", "busybox", "cat", "/h/f"); out != "host" {
		t.Fatalf("ro bind read %q", out)
	}
	d.mustFail("Read-only file system", "run", "--rm", "-v", host+":/h:ro", "busybox", "touch", "/h/g")
	d.mustFail("Read-only file system", "run", "--rm", "--mount", "type=bind,source="+host+",target=/h,readonly", "busybox", "touch", "/h/g")
	d.mustFail("bind source path does not exist", "run", "--rm", "--mount", "type=bind,source="+filepath.Join(host, "nope")+",target=/h", "busybox", "true")
	out := d.mustDocker("run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=3m,tmpfs-mode=1770", "busybox", "sh", "-c", "grep ' /t ' /proc/mounts; stat -c %a /t")
	if !strings.Contains(out, "size=3072k") || !strings.HasSuffix(out, "1770") {
		t.Fatalf("--mount tmpfs: %q", out)
	}

	// --mount creates a missing volume with its volume-opt and volume-label.
	out = d.mustDocker("run", "--rm", "--mount", "type=volume,src=mo,dst=/m,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m,volume-label=k=v",
		"busybox", "grep", " /m ", "/proc/mounts")
	if !strings.HasPrefix(out, "tmpfs /m tmpfs") || !strings.Contains(out, "size=1024k") {
		t.Fatalf("--mount volume-opt: %q", out)
	}
	if out := d.mustDocker("volume", "inspect", "-f", "{{.Labels}} {{.Options.type}}", "mo"); out != "map[k:v] tmpfs" {
		t.Fatalf("--mount volume-label: %q", out)
	}
	d.mustDocker("volume", "rm", "mo")

	since := time.Now().Add(-time.Second)
	d.mustDocker("run", "--name", "ev", "-v", "evv:/e:ro", "busybox", "true")
	d.mustDocker("rm", "ev")
	d.mustDocker("volume", "rm", "evv")
	time.Sleep(10 * time.Millisecond)
	out = d.mustDocker("events", "--since", stamp(since), "--until", stamp(time.Now()), "--filter", "type=volume", "--filter", "volume=evv",
		"--format", "{{.Action}} {{.Actor.Attributes.driver}} {{index .Actor.Attributes \"destination\"}} {{index .Actor.Attributes \"read/write\"}}")
	want := "create local  \nmount local /e false\nunmount local  \ndestroy local"
	if out != want {
		t.Fatalf("volume events:\n%s\nwant:\n%s", out, want)
	}
}

package daemon

import (
	"archive/tar"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpCanary makes a host directory holding one file and returns its path;
// the containers below hold a directory at the same path, so a copy that
// followed a symlink out to the host would touch this one.
func cpCanary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/root", "berth-cp-canary-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// assertCanary checks the host directory still holds only its file.
func assertCanary(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "f" {
		t.Errorf("host canary directory changed: %v", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "host\n" {
		t.Errorf("host canary file changed: %q", b)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cpTar(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len("evil\n"))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("evil\n"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (d *daemon) putArchive(t *testing.T, ctr, path string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://berth/containers/"+ctr+"/archive?path="+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := d.http().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func TestCopyDockerCLI(t *testing.T) {
	d := containerDaemon(t)
	canary := cpCanary(t)
	out := t.TempDir()
	setup := "mkdir -p /d/sub " + canary + " && echo hi > /d/sub/f && echo top > /d/g && ln -s / /escape && ln -s ../../.. /x" +
		" && echo container > " + canary + "/f && touch /ready"
	d.mustDocker("run", "-d", "--name", "cpr", "busybox", "sh", "-c", setup+" && sleep 1000")
	eventually(t, func() error { _, err := d.docker("exec", "cpr", "test", "-e", "/ready"); return err })

	// out of a running container.
	{
		d.mustDocker("cp", "cpr:/d/g", filepath.Join(out, "g"))
		if got := readFile(t, filepath.Join(out, "g")); got != "top\n" {
			t.Errorf("file copied out: %q", got)
		}
		d.mustDocker("cp", "cpr:/d", filepath.Join(out, "d"))
		if got := readFile(t, filepath.Join(out, "d/sub/f")); got != "hi\n" {
			t.Errorf("directory copied out: %q", got)
		}
		// "/." copies the directory's content into an existing directory.
		os.Mkdir(filepath.Join(out, "content"), 0o755)
		d.mustDocker("cp", "cpr:/d/.", filepath.Join(out, "content"))
		if got := readFile(t, filepath.Join(out, "content/g")); got != "top\n" {
			t.Errorf("directory content copied out: %q", got)
		}
	}

	// into a running container.
	{
		src := filepath.Join(out, "in.txt")
		os.WriteFile(src, []byte("from host\n"), 0o600)
		d.mustDocker("cp", src, "cpr:/d/")
		if got := d.mustDocker("exec", "cpr", "cat", "/d/in.txt"); got != "from host" {
			t.Errorf("read back %q", got)
		}
		if got := d.mustDocker("exec", "cpr", "stat", "-c", "%u:%g %a", "/d/in.txt"); got != "0:0 600" {
			t.Errorf("owner and mode %q", got)
		}
		d.mustFail("Could not find the file /nope in container cpr", "cp", src, "cpr:/nope/x")
	}

	// symlinks resolve inside the container.
	{
		for _, p := range []string{"cpr:/escape" + canary + "/f", "cpr:/x" + canary + "/f"} {
			dst := filepath.Join(out, "esc")
			os.Remove(dst)
			d.mustDocker("cp", p, dst)
			if got := readFile(t, dst); got != "container\n" {
				t.Errorf("cp %s read %q, want the container's file", p, got)
			}
		}
		src := filepath.Join(out, "in.txt")
		d.mustDocker("cp", src, "cpr:/escape"+canary+"/")
		d.mustDocker("cp", src, "cpr:/x"+canary+"/")
		if got := d.mustDocker("exec", "cpr", "cat", canary+"/in.txt"); got != "from host" {
			t.Errorf("copy through a symlink: %q", got)
		}
		assertCanary(t, canary)
	}

	// hostile tars.
	{
		for name, body := range map[string][]byte{
			"dotdot":        cpTar(t, &tar.Header{Name: "../../../../../../.." + canary + "/evil", Typeflag: tar.TypeReg}),
			"absolute":      cpTar(t, &tar.Header{Name: canary + "/evil", Typeflag: tar.TypeReg}),
			"hardlink out":  cpTar(t, &tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../../.." + canary + "/f"}),
			"whiteout name": cpTar(t, &tar.Header{Name: ".wh.g", Typeflag: tar.TypeReg}),
		} {
			if code, msg := d.putArchive(t, "cpr", "/d", body); code != http.StatusBadRequest {
				t.Errorf("%s: PUT answered %d %s, want 400", name, code, msg)
			}
		}
		// A symlink in the tar, then an entry through it: it lands in
		// the container's directory, not the host's.
		body := cpTar(t,
			&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: canary, Mode: 0o777},
			&tar.Header{Name: "l/evil", Typeflag: tar.TypeReg},
			&tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../../../..", Mode: 0o777},
			&tar.Header{Name: "up" + canary + "/evil2", Typeflag: tar.TypeReg})
		if code, msg := d.putArchive(t, "cpr", "/d", body); code != http.StatusOK {
			t.Fatalf("PUT through symlinks: %d %s", code, msg)
		}
		if got := d.mustDocker("exec", "cpr", "cat", canary+"/evil", canary+"/evil2"); got != "evil\nevil" {
			t.Errorf("entries through symlinks: %q", got)
		}
		if _, err := d.docker("exec", "cpr", "test", "-e", "/d/.wh.g"); err == nil {
			t.Errorf("whiteout entry written")
		}
		d.mustDocker("exec", "cpr", "test", "-e", "/d/g")
		assertCanary(t, canary)
	}

	// missing paths and bad requests.
	{
		d.mustFail("Could not find the file /nope in container cpr", "cp", "cpr:/nope", filepath.Join(out, "x"))
		d.mustFail("No such container: nosuch", "cp", "nosuch:/d", filepath.Join(out, "x"))
		d.mustFail("copying between containers is not supported", "cp", "cpr:/d", "cpr:/e")
		d.mustFail("must specify at least one container source", "cp", "/a", "/b")
		if code, msg := d.putArchive(t, "cpr", "/d/g", cpTar(t)); code != http.StatusInternalServerError || !strings.Contains(msg, "extraction point is not a directory") {
			t.Errorf("PUT onto a file: %d %s", code, msg)
		}
		if resp, _ := d.do(http.MethodHead, "/containers/cpr/archive?path="); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("HEAD without a path: %d", resp.StatusCode)
		}
	}

	// stopped container.
	{
		d.mustDocker("create", "--name", "cps", "busybox", "sh", "-c", "cat /tmp/in.txt; cat /d/g")
		src := filepath.Join(out, "in.txt")
		d.mustDocker("cp", src, "cps:/tmp")
		if code, msg := d.putArchive(t, "cps", "/", cpTar(t, &tar.Header{Name: "d/g", Typeflag: tar.TypeReg})); code != http.StatusOK {
			t.Fatalf("PUT into a stopped container: %d %s", code, msg)
		}
		if got := d.mustDocker("start", "-a", "cps"); got != "from host\nevil" {
			t.Errorf("stopped container read %q", got)
		}
		d.mustDocker("cp", "cps:/tmp/in.txt", filepath.Join(out, "back.txt"))
		if got := readFile(t, filepath.Join(out, "back.txt")); got != "from host\n" {
			t.Errorf("copied out of a stopped container: %q", got)
		}
		d.mustDocker("cp", "cps:/d", filepath.Join(out, "sd"))
		if got := readFile(t, filepath.Join(out, "sd/g")); got != "evil\n" {
			t.Errorf("directory out of a stopped container: %q", got)
		}
	}

	// ownership: the tar's owners are kept (dockerd 20.10); -a gives
	// everything to the container's user.
	{
		src := filepath.Join(out, "owned.txt")
		os.WriteFile(src, []byte("owned\n"), 0o644)
		os.Chown(src, 1234, 4321)
		d.mustDocker("cp", src, "cpr:/d/")
		if got := d.mustDocker("exec", "cpr", "stat", "-c", "%u:%g", "/d/owned.txt"); got != "1234:4321" {
			t.Errorf("owner kept from the tar: %q", got)
		}
		d.mustDocker("run", "-d", "--user", "daemon", "--name", "cpu", "busybox", "sleep", "1000")
		d.mustDocker("cp", "-a", src, "cpu:/tmp/")
		if got := d.mustDocker("exec", "cpu", "stat", "-c", "%u:%g", "/tmp/owned.txt"); got != "1:1" {
			t.Errorf("cp -a owner: %q, want the container user's 1:1", got)
		}
		// "/." sends the directory's content under "./", as dockerd.
		resp, body := d.do(http.MethodGet, "/containers/cpr/archive?path=/d/sub/.")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /d/sub/.: %d", resp.StatusCode)
		}
		if h, err := tar.NewReader(bytes.NewReader(body)).Next(); err != nil || h.Name != "./" {
			t.Errorf("first entry of /d/sub/.: %v %v", h, err)
		}
	}

	// events: a GET is archive-path, a PUT extract-to-dir, a HEAD none, as
	// with dockerd 20.10.
	{
		evs := d.mustDocker("events", "--since", "0", "--until", strconv.FormatInt(time.Now().Unix()+1, 10), "--filter", "container=cpr", "--format", "{{.Action}}")
		if !strings.Contains(evs, "archive-path") || !strings.Contains(evs, "extract-to-dir") {
			t.Errorf("events: %q", evs)
		}
	}

	// read-only rootfs.
	{
		d.mustDocker("create", "--read-only", "--name", "cpro", "busybox", "true")
		d.mustFail("container rootfs is marked read-only", "cp", filepath.Join(out, "in.txt"), "cpro:/tmp")
	}

	// berth cp.
	{
		bin := filepath.Join(t.TempDir(), "berth")
		if o, err := exec.Command("go", "build", "-o", bin, "github.com/berth-engine/berth/cmd/berth").CombinedOutput(); err != nil {
			t.Fatalf("go build berth: %v\n%s", err, o)
		}
		b := &berthCLI{t: t, bin: bin, d: d}
		b.must("cp", "cpr:/d/sub", filepath.Join(out, "bsub"))
		if got := readFile(t, filepath.Join(out, "bsub/f")); got != "hi\n" {
			t.Errorf("berth cp out: %q", got)
		}
		b.must("container", "cp", filepath.Join(out, "in.txt"), "cpr:/d/sub/berth.txt")
		if got := d.mustDocker("exec", "cpr", "cat", "/d/sub/berth.txt"); got != "from host" {
			t.Errorf("berth cp in: %q", got)
		}
		if _, errOut, code := b.run("", "cp", "cpr:/nope", filepath.Join(out, "x")); code == 0 || !strings.Contains(errOut, "Could not find the file /nope in container cpr") {
			t.Errorf("berth cp of a missing path: %d %q", code, errOut)
		}
		tarOut, _, code := b.run("", "cp", "cpr:/d/g", "-")
		if code != 0 {
			t.Fatalf("berth cp to stdout: %d", code)
		}
		tr := tar.NewReader(strings.NewReader(tarOut))
		if h, err := tr.Next(); err != nil || h.Name != "g" {
			t.Errorf("berth cp to stdout: first entry %v %v", h, err)
		}
		assertCanary(t, canary)
	}
}

// TestCopyMounts: docker cp sees what the container's processes see at a
// volume, a bind and (while running) a tmpfs, not the rootfs directory
// underneath; for a stopped container the volume and bind are reached too.
func TestCopyMounts(t *testing.T) {
	d := containerDaemon(t)
	hostDir := t.TempDir()
	out := t.TempDir()
	src := filepath.Join(out, "in.txt")
	if err := os.WriteFile(src, []byte("copied\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.mustDocker("volume", "create", "cpvol")
	d.mustDocker("run", "-d", "--name", "cpm", "-v", "cpvol:/vol", "-v", hostDir+":/bind", "--tmpfs", "/scratch",
		"busybox", "sh", "-c", "echo inside > /scratch/t && touch /ready && sleep 1000")
	eventually(t, func() error { _, err := d.docker("exec", "cpm", "test", "-e", "/ready"); return err })

	// running: into the volume, the bind and the tmpfs; out of the tmpfs.
	for _, dir := range []string{"/vol", "/bind", "/scratch"} {
		d.mustDocker("cp", src, "cpm:"+dir+"/")
		if got := d.mustDocker("exec", "cpm", "cat", dir+"/in.txt"); got != "copied" {
			t.Errorf("running: %s/in.txt reads %q in the container", dir, got)
		}
	}
	if got := readFile(t, filepath.Join(hostDir, "in.txt")); got != "copied\n" {
		t.Errorf("bind source on the host: %q", got)
	}
	d.mustDocker("cp", "cpm:/scratch/t", filepath.Join(out, "t"))
	if got := readFile(t, filepath.Join(out, "t")); got != "inside\n" {
		t.Errorf("copied out of the tmpfs: %q", got)
	}

	// stopped: the volume and the bind are still where the container sees them.
	d.mustDocker("stop", "-t", "1", "cpm")
	src2 := filepath.Join(out, "late.txt")
	if err := os.WriteFile(src2, []byte("late\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.mustDocker("cp", src2, "cpm:/vol/")
	d.mustDocker("cp", src2, "cpm:/bind/")
	if got := d.mustDocker("run", "--rm", "-v", "cpvol:/v", "busybox", "cat", "/v/late.txt", "/v/in.txt"); got != "late\ncopied" {
		t.Errorf("volume after a copy into the stopped container: %q", got)
	}
	if got := readFile(t, filepath.Join(hostDir, "late.txt")); got != "late\n" {
		t.Errorf("bind source after a copy into the stopped container: %q", got)
	}
	d.mustDocker("cp", "cpm:/vol/in.txt", filepath.Join(out, "back.txt"))
	if got := readFile(t, filepath.Join(out, "back.txt")); got != "copied\n" {
		t.Errorf("copied out of the stopped container's volume: %q", got)
	}
	d.mustDocker("rm", "cpm")
	d.mustDocker("volume", "rm", "cpvol")
	// nothing of the copies stays mounted.
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), "berth-mount-") {
		t.Errorf("a temporary copy mount is left:\n%s", mi)
	}
}

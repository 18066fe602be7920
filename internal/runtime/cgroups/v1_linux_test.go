package cgroups

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sandboxPath returns a unique absolute cgroupsPath under /berth-test.
func sandboxPath(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "/berth-test/" + hex.EncodeToString(b)
}

// child is a process a test started. It waits on stdin so that it can be
// released once it is inside the cgroup; it then reports whether it may open
// an allowed device (/dev/null) and one outside the default allow-list
// (/dev/kmsg, c 1:11), and execs sleep, whose memory is then charged to the
// new cgroup (v1 does not move existing charges with a task). The
// redirections run in subshells: a failed redirection on ":" would end a
// POSIX shell.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
}

const childScript = `read _
if (: </dev/null) 2>/dev/null; then echo null-ok; else echo null-denied; fi
if (: </dev/kmsg) 2>/dev/null; then echo kmsg-ok; else echo kmsg-denied; fi
exec sleep 600`

func startChild(t *testing.T) *child {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", childScript)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, stdout: bufio.NewScanner(stdout)}
	t.Cleanup(c.kill)
	return c
}

// release lets the child go on and returns its two device-access reports.
func (c *child) release(t *testing.T) []string {
	t.Helper()
	if _, err := io.WriteString(c.stdin, "\n"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 && c.stdout.Scan() {
		got = append(got, c.stdout.Text())
	}
	return got
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// kill ends the child by its own PID and reaps it; safe to call twice.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// blockDevice returns a whole disk (not loop, ram or zram) to throttle.
func blockDevice(t *testing.T) (specs.LinuxBlockIODevice, bool) {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		var d specs.LinuxBlockIODevice
		if _, err := fmt.Sscanf(readTrim(t, filepath.Join("/sys/block", n), "dev"), "%d:%d", &d.Major, &d.Minor); err == nil {
			return d, true
		}
	}
	return specs.LinuxBlockIODevice{}, false
}

// cleanupCgroup removes the test's cgroups and their /berth-test parents (when
// empty) at the end of the test. Registered before any child is started, it
// runs after the children's cleanups (LIFO), when the cgroups are empty.
func cleanupCgroup(t *testing.T, m *Manager) {
	paths := m.Paths()
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, p := range paths {
			_ = os.Remove(filepath.Dir(p)) // fails, harmlessly, unless empty
		}
	})
}

func readTrim(t *testing.T, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return strings.TrimSpace(string(b))
}

func procsOf(t *testing.T, dir string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Fields(readTrim(t, dir, "cgroup.procs")) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, n)
	}
	return pids
}

func TestV1Real(t *testing.T) {
	testutil.RequiresRoot(t)
	if IsV2() {
		t.Skip("host is cgroup v2 only; v1 test needs v1 hierarchies")
	}

	has := func(subsys, file string) bool {
		_, err := os.Stat(filepath.Join("/sys/fs/cgroup", subsys, file))
		return err == nil
	}
	res := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: ptr[int64](64 << 20)},
		CPU: &specs.LinuxCPU{
			Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000),
			Cpus: "0", Mems: "0",
		},
		Pids: &specs.LinuxPids{Limit: ptr[int64](32)},
	}
	// Optional knobs, only where this kernel has them.
	if has("memory", "memory.memsw.limit_in_bytes") {
		res.Memory.Swap = ptr[int64](128 << 20)
	}
	res.BlockIO = &specs.LinuxBlockIO{}
	blkioWeight := has("blkio", "blkio.weight") || has("blkio", "blkio.bfq.weight")
	if blkioWeight {
		res.BlockIO.Weight = ptr[uint16](500)
	}
	disk, diskOK := blockDevice(t)
	if diskOK && has("blkio", "blkio.throttle.read_bps_device") {
		res.BlockIO.ThrottleReadBpsDevice = []specs.LinuxThrottleDevice{{LinuxBlockIODevice: disk, Rate: 1 << 20}}
		res.BlockIO.ThrottleWriteIOPSDevice = []specs.LinuxThrottleDevice{{LinuxBlockIODevice: disk, Rate: 100}}
	}

	m, err := New("c1", &specs.Spec{Linux: &specs.Linux{CgroupsPath: sandboxPath(t), Resources: res}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	paths := m.Paths()
	t.Logf("cgroup paths: %v", paths)
	cleanupCgroup(t, m)
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s exists before Apply (err %v)", p, err)
		}
	}
	// Each controller the test asserts on must be mounted; skip cleanly per
	// controller otherwise.
	path := func(t *testing.T, subsys string) string {
		t.Helper()
		p, ok := paths[subsys]
		if !ok {
			t.Skipf("no v1 %s hierarchy on this host", subsys)
		}
		return p
	}

	c := startChild(t)
	if err := m.Apply(c.pid()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	access := c.release(t)

	for sub, p := range paths {
		if !slices.Contains(procsOf(t, p), c.pid()) {
			t.Errorf("%s: pid %d not in %s/cgroup.procs", sub, c.pid(), p)
		}
	}

	t.Run("limits", func(t *testing.T) {
		for _, tc := range []struct{ subsys, file, want string }{
			{"memory", "memory.limit_in_bytes", "67108864"},
			{"cpu", "cpu.shares", "512"},
			{"cpu", "cpu.cfs_quota_us", "50000"},
			{"cpu", "cpu.cfs_period_us", "100000"},
			{"pids", "pids.max", "32"},
			{"cpuset", "cpuset.cpus", "0"},
			{"cpuset", "cpuset.mems", "0"},
		} {
			t.Run(tc.file, func(t *testing.T) {
				if got := readTrim(t, path(t, tc.subsys), tc.file); got != tc.want {
					t.Errorf("%s = %q, want %q", tc.file, got, tc.want)
				}
			})
		}
		t.Run("memory.memsw.limit_in_bytes", func(t *testing.T) {
			if res.Memory.Swap == nil {
				t.Skip("kernel without swap accounting")
			}
			if got := readTrim(t, path(t, "memory"), "memory.memsw.limit_in_bytes"); got != "134217728" {
				t.Errorf("memsw limit = %q", got)
			}
		})
		t.Run("blkio.weight", func(t *testing.T) {
			if !blkioWeight {
				t.Skip("blkio controller has no weight file (no CFQ/BFQ scheduler)")
			}
			p := path(t, "blkio")
			f := "blkio.weight"
			if _, err := os.Stat(filepath.Join(p, f)); err != nil {
				f = "blkio.bfq.weight"
			}
			if got := readTrim(t, p, f); got != "500" {
				t.Errorf("%s = %q", f, got)
			}
		})
		t.Run("blkio.throttle", func(t *testing.T) {
			if res.BlockIO.ThrottleReadBpsDevice == nil {
				t.Skip("no disk or no blkio throttling")
			}
			p := path(t, "blkio")
			dev := fmt.Sprintf("%d:%d", disk.Major, disk.Minor)
			if got := readTrim(t, p, "blkio.throttle.read_bps_device"); got != dev+" 1048576" {
				t.Errorf("read_bps_device = %q", got)
			}
			if got := readTrim(t, p, "blkio.throttle.write_iops_device"); got != dev+" 100" {
				t.Errorf("write_iops_device = %q", got)
			}
		})
		t.Run("devices", func(t *testing.T) {
			list := strings.Split(readTrim(t, path(t, "devices"), "devices.list"), "\n")
			for _, want := range []string{"c 1:3 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm", "c *:* m", "b *:* m"} {
				if !slices.Contains(list, want) {
					t.Errorf("devices.list lacks %q: %q", want, list)
				}
			}
			if slices.Contains(list, "a *:* rwm") {
				t.Errorf("devices.list still allows everything: %q", list)
			}
			if want := []string{"null-ok", "kmsg-denied"}; !slices.Equal(access, want) {
				t.Errorf("device access inside the cgroup = %q, want %q", access, want)
			}
		})
	})

	t.Run("freeze", func(t *testing.T) {
		dir := path(t, "freezer")
		if err := m.Freeze(); err != nil {
			t.Fatalf("Freeze: %v", err)
		}
		if got := readTrim(t, dir, "freezer.state"); got != "FROZEN" {
			t.Errorf("freezer.state = %q after Freeze", got)
		}
		if s, err := m.FreezerState(); err != nil || s != "paused" {
			t.Errorf("FreezerState() = %q, %v", s, err)
		}
		if err := m.Thaw(); err != nil {
			t.Fatalf("Thaw: %v", err)
		}
		if got := readTrim(t, dir, "freezer.state"); got != "THAWED" {
			t.Errorf("freezer.state = %q after Thaw", got)
		}
		if s, err := m.FreezerState(); err != nil || s != "running" {
			t.Errorf("FreezerState() = %q, %v", s, err)
		}
	})

	t.Run("stats", func(t *testing.T) {
		// Wait for sleep to have been exec'd (and charged) inside.
		var st *Stats
		deadline := time.Now().Add(5 * time.Second)
		for {
			var err error
			if st, err = m.Stats(); err != nil {
				t.Fatalf("Stats: %v", err)
			}
			if st.Memory.Usage.Usage > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("memory usage %d, pids %+v, cpu total %dns", st.Memory.Usage.Usage, st.Pids, st.CPU.Usage.Total)
		if st.Memory.Usage.Usage == 0 {
			t.Errorf("memory usage is 0")
		}
		if st.Memory.Usage.Limit != 64<<20 {
			t.Errorf("memory limit in stats = %d", st.Memory.Usage.Limit)
		}
		if _, ok := paths["pids"]; ok && (st.Pids.Current < 1 || st.Pids.Limit != 32) {
			t.Errorf("pids stats = %+v, want current >= 1, limit 32", st.Pids)
		}
		if len(st.Memory.Raw) == 0 {
			t.Error("memory.stat not reported")
		}
		if _, err := json.Marshal(Event{Type: "stats", ID: "c1", Data: st}); err != nil {
			t.Error(err)
		}
		if n, err := m.OOMKillCount(); err != nil || n != 0 {
			t.Errorf("OOMKillCount() = %d, %v; want 0", n, err)
		}
	})

	t.Run("pids and add", func(t *testing.T) {
		pids, err := m.Pids()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(pids, []int{c.pid()}) {
			t.Errorf("Pids() = %v, want [%d]", pids, c.pid())
		}
		extra := startChild(t)
		if err := m.Add(extra.pid()); err != nil {
			t.Fatalf("Add: %v", err)
		}
		pids, err = m.Pids()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(pids)
		want := []int{c.pid(), extra.pid()}
		slices.Sort(want)
		if !slices.Equal(pids, want) {
			t.Errorf("Pids() after Add = %v, want %v", pids, want)
		}
		extra.kill()
	})

	t.Run("update and load", func(t *testing.T) {
		// A later runtime invocation: rebuild from the saved state.
		raw, err := json.Marshal(m.State())
		if err != nil {
			t.Fatal(err)
		}
		var st State
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		m2, err := Load(st)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if err := m2.Update(&specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: ptr[int64](96 << 20)},
			CPU:    &specs.LinuxCPU{Shares: ptr[uint64](256)},
		}); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if got := readTrim(t, path(t, "memory"), "memory.limit_in_bytes"); got != strconv.Itoa(96<<20) {
			t.Errorf("memory.limit_in_bytes = %q after update", got)
		}
		if got := readTrim(t, path(t, "cpu"), "cpu.shares"); got != "256" {
			t.Errorf("cpu.shares = %q after update", got)
		}
		if got := readTrim(t, path(t, "pids"), "pids.max"); got != "32" {
			t.Errorf("pids.max = %q after an update that did not touch it", got)
		}
		// The kernel refuses a CPU that does not exist; the error says
		// which file and value.
		err = m2.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1023"}})
		if err == nil {
			t.Fatal("Update to cpuset 1023 succeeded")
		}
		t.Logf("refused update: %v", err)
		if !strings.Contains(err.Error(), "cpuset.cpus") || !strings.Contains(err.Error(), `"1023"`) {
			t.Errorf("error %q does not name the file and value", err)
		}
		if got := m2.State().Config.Resources.CpusetCpus; got != "0" {
			t.Errorf("stored cpus = %q after a refused update, want 0", got)
		}
	})

	t.Run("destroy", func(t *testing.T) {
		c.kill()
		if err := m.Destroy(); err != nil {
			t.Fatalf("Destroy: %v", err)
		}
		for sub, p := range paths {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %s still exists (err %v)", sub, p, err)
			}
		}
		if err := m.Destroy(); err != nil {
			t.Errorf("second Destroy: %v", err)
		}
	})
}

// A limit the kernel refuses at Apply time fails Apply, names the file, and
// leaves no directories behind.
func TestV1ApplyRefusedLimit(t *testing.T) {
	testutil.RequiresRoot(t)
	if IsV2() {
		t.Skip("host is cgroup v2 only")
	}
	m, err := New("c1", &specs.Spec{Linux: &specs.Linux{
		CgroupsPath: sandboxPath(t),
		Resources:   &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1023"}},
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Paths()["cpuset"]; !ok {
		t.Skip("no v1 cpuset hierarchy")
	}
	cleanupCgroup(t, m)
	c := startChild(t)
	err = m.Apply(c.pid())
	if err == nil {
		t.Fatal("Apply with cpuset 1023 succeeded")
	}
	t.Logf("refused apply: %v", err)
	if !strings.Contains(err.Error(), "cpuset.cpus") || !strings.Contains(err.Error(), "1023") {
		t.Errorf("error %q does not name the file and value", err)
	}
	for sub, p := range m.Paths() {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %s left behind after failed Apply", sub, p)
		}
	}
}

// Where, decoded from a saved State, joins and reads the freezer as the
// Manager does.
func TestV1WhereMatchesManager(t *testing.T) {
	testutil.RequiresRoot(t)
	if IsV2() {
		t.Skip("host is cgroup v2 only")
	}
	m, err := New("w1", &specs.Spec{Linux: &specs.Linux{CgroupsPath: sandboxPath(t)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cleanupCgroup(t, m)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m.State())
	if err != nil {
		t.Fatal(err)
	}
	w, err := DecodeWhere(data)
	if err != nil {
		t.Fatal(err)
	}
	wt, wv2 := w.SelfJoin()
	mt, mv2 := m.SelfJoin()
	if !slices.Equal(wt, mt) || wv2 != mv2 {
		t.Fatalf("SelfJoin: Where %v %q, Manager %v %q", wt, wv2, mt, mv2)
	}
	if _, ok := w.Paths["freezer"]; !ok {
		t.Skip("no v1 freezer hierarchy")
	}
	for _, freeze := range []bool{true, false} {
		if freeze {
			err = m.Freeze()
		} else {
			err = m.Thaw()
		}
		if err != nil {
			t.Fatal(err)
		}
		paused, known, err := w.Paused()
		st, merr := m.FreezerState()
		if err != nil || merr != nil || !known || paused != (st == "paused") || paused != freeze {
			t.Fatalf("freeze=%v: Where paused=%v known=%v err=%v; Manager %q %v", freeze, paused, known, err, st, merr)
		}
	}
	if _, err := DecodeWhere([]byte(`{"version":9,"paths":{"":"/x"}}`)); err == nil {
		t.Fatal("DecodeWhere accepted another state version")
	}
}

// New with a layout cache finds the same paths as the library's discovery,
// from the first call (which fills the cache) on; a stale key is ignored.
func TestV1LayoutCache(t *testing.T) {
	testutil.RequiresRoot(t)
	if IsV2() {
		t.Skip("host is cgroup v2 only")
	}
	cache := filepath.Join(t.TempDir(), "layout")
	spec := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "/berth-layout-test/a"}}
	want, err := New("l1", spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		got, err := New("l1", spec, Options{LayoutCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got.Paths(), want.Paths()) {
			t.Fatalf("call %d: paths %v, want %v", i, got.Paths(), want.Paths())
		}
		if _, err := os.Stat(cache); err != nil {
			t.Fatalf("call %d: no cache file: %v", i, err)
		}
	}
	other := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "/berth-layout-test/b/c"}}
	wantB, _ := New("l2", other, Options{})
	gotB, err := New("l2", other, Options{LayoutCache: cache})
	if err != nil || !maps.Equal(gotB.Paths(), wantB.Paths()) {
		t.Fatalf("other path from the cache: %v %v, want %v", gotB.Paths(), err, wantB.Paths())
	}
	// A cache written for another mount layout is not used.
	if err := os.WriteFile(cache, []byte(layoutMagic+"stale\nmemory\t/elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := New("l1", spec, Options{LayoutCache: cache})
	if err != nil || !maps.Equal(got.Paths(), want.Paths()) {
		t.Fatalf("stale cache used: %v %v", got.Paths(), err)
	}
	// Relative cgroupsPaths never use it.
	if layoutCacheFor(Options{LayoutCache: cache}, false, "rel/x") != nil {
		t.Fatal("layout cache applies to a relative cgroupsPath")
	}
}

// The layout key covers the cgroup mount lines, less their mount IDs.
func TestMountLayoutKey(t *testing.T) {
	base := "24 1 0:21 / /sys rw shared:7 - sysfs sysfs rw\n" +
		"30 24 0:26 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755\n" +
		"35 30 0:31 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
	k := mountLayoutKey([]byte(base))
	same := []string{
		strings.Replace(base, "35 30 ", "99 31 ", 1),                     // remounted: new IDs
		strings.Replace(base, "/sys rw shared:7", "/sys ro shared:7", 1), // not a cgroup mount
		base + "40 1 0:40 / /home rw - ext4 /dev/vdb rw\n",
	}
	for i, s := range same {
		if got := mountLayoutKey([]byte(s)); got != k {
			t.Errorf("variant %d: key changed", i)
		}
	}
	differ := []string{
		strings.Replace(base, "rw,memory", "rw,memory,nsdelegate", 1),
		strings.Replace(base, "/sys/fs/cgroup/memory", "/sys/fs/cgroup/mem", 1),
		base + "36 30 0:32 / /sys/fs/cgroup/pids rw shared:16 - cgroup cgroup rw,pids\n",
		base + "37 1 0:33 / /elsewhere rw - cgroup2 cgroup2 rw\n",
	}
	for i, s := range differ {
		if got := mountLayoutKey([]byte(s)); got == k {
			t.Errorf("variant %d: key unchanged", i)
		}
	}
}

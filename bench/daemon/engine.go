package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// engine is one private daemon under test and the ways to drive it.
type engine struct {
	name     string // "berth" or "docker"
	dir      string // everything of this daemon lives under it
	execRoot string
	sock     string
	log      string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the daemon process has been reaped
	api      *client.Client
	cliEnv   []string // environment for the docker and berth CLIs
	version  string

	bridge string // a host bridge the bench made for this daemon, removed at cleanup

	mu   sync.Mutex
	made []string // every container created, for the leftover check
	seq  int
}

// create creates a container and remembers its id. Each gets a name of
// ours: berthd picks a generated name before it reserves it, so parallel
// anonymous creates can collide (409), which is not what is measured here.
func (e *engine) create(ctx context.Context, opts client.ContainerCreateOptions) (string, error) {
	e.mu.Lock()
	e.seq++
	if opts.Name == "" {
		opts.Name = fmt.Sprintf("bench_%d", e.seq)
	}
	e.mu.Unlock()
	cr, err := e.api.ContainerCreate(ctx, opts)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.made = append(e.made, cr.ID)
	e.mu.Unlock()
	return cr.ID, nil
}

// startBerthd starts bin/berthd with its own data root, exec root, socket,
// pid file and a config file that does not exist (so /etc/berth is not read).
func startBerthd(ctx context.Context, o options, dir, cliConfig string) (*engine, error) {
	bin, err := filepath.Abs(o.berthd)
	if err != nil {
		return &engine{}, err
	}
	e := newEngine("berth", dir, filepath.Join(dir, "e"), cliConfig)
	// A default bridge of its own (name and subnet), beside a real berthd
	// or docker0; no firewall rules, as the bench's dockerd.
	name, bip := benchBridge("bb", 1)
	args := []string{
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", e.execRoot,
		"-H", "unix://" + e.sock,
		"--pidfile", filepath.Join(dir, "berthd.pid"),
		"--bridge", name, "--bip", bip, "--iptables=false",
	}
	e.bridge = name
	return e, e.start(ctx, bin, args)
}

// startDockerd starts dockerd with its own data root, exec root, socket and
// pid file, no bridge and no iptables; dockerd then starts its own containerd
// under the exec root. Its trust key goes into dir too, not /etc/docker.
func startDockerd(ctx context.Context, o options, dir, cliConfig string) (*engine, error) {
	bin, err := exec.LookPath(o.dockerd)
	if err != nil {
		return &engine{}, err
	}
	// A containerd listening on the system socket would be shared instead
	// of started privately: its memory and its shims would not be ours.
	if _, err := os.Stat("/run/containerd/containerd.sock"); err == nil {
		return &engine{}, errors.New("a system containerd listens on /run/containerd/containerd.sock: dockerd would use it instead of a private one")
	}
	e := newEngine("docker", dir, filepath.Join(dir, "e"), cliConfig)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return e, err
	}
	cfg := filepath.Join(dir, "daemon.json")
	// dockerd 20.10 creates a trust key, at /etc/docker/key.json unless
	// daemon.json says otherwise (a file key only, no flag).
	conf := fmt.Sprintf("{%q: %q}\n", "deprecated-key-path", filepath.Join(dir, "key.json"))
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return e, err
	}
	// dockerd's default bridge is one the bench makes (dockerd's -b takes
	// an existing bridge and its address), so that it is not docker0.
	name, bip := benchBridge("bd", 2)
	for _, c := range [][]string{{"link", "add", name, "type", "bridge"}, {"addr", "add", bip, "dev", name}, {"link", "set", name, "up"}} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			exec.Command("ip", "link", "del", name).Run()
			return e, fmt.Errorf("bridge for dockerd: ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	e.bridge = name
	args := []string{
		"--config-file", cfg,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", e.execRoot,
		"-H", "unix://" + e.sock,
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--bridge", name, "--iptables=false", "--ip-masq=false",
	}
	return e, e.start(ctx, bin, args)
}

func newEngine(name, dir, execRoot, cliConfig string) *engine {
	sock := filepath.Join(dir, "api.sock")
	env := []string{"DOCKER_HOST=unix://" + sock, "BERTH_HOST=unix://" + sock, "DOCKER_CONFIG=" + cliConfig}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "DOCKER_") && !strings.HasPrefix(k, "BERTH_") {
			env = append(env, kv)
		}
	}
	return &engine{name: name, dir: dir, execRoot: execRoot, sock: sock, log: filepath.Join(dir, "daemon.log"), cliEnv: env}
}

// start runs the daemon in its own process group (a ^C reaches the bench,
// which then cleans up in order, not the daemon) and waits for its API.
func (e *engine) start(ctx context.Context, bin string, args []string) error {
	if err := os.MkdirAll(e.dir, 0o711); err != nil {
		return err
	}
	logf, err := os.Create(e.log)
	if err != nil {
		return err
	}
	defer logf.Close()
	e.cmd = exec.Command(bin, args...)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		return err
	}
	e.exited = make(chan struct{})
	go func() {
		_ = e.cmd.Wait()
		close(e.exited)
	}()
	e.api, err = client.New(client.WithHost("unix://"+e.sock), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := e.api.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
		cancel()
		if err == nil {
			break
		}
		select {
		case <-e.exited:
			return fmt.Errorf("%s exited at start: %s%s", filepath.Base(bin), e.cmd.ProcessState, e.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: API not ready after 60s: %v%s", filepath.Base(bin), err, e.logTail())
		}
	}
	v, err := e.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return err
	}
	e.version = fmt.Sprintf("%s (API %s)", v.Version, v.APIVersion)
	return nil
}

func (e *engine) pid() int { return e.cmd.Process.Pid }

// daemonPids are the processes that make up the idle daemon: berthd alone;
// dockerd and the containerd it started.
func (e *engine) daemonPids() []int {
	pids := []int{e.pid()}
	if e.name == "docker" {
		for _, c := range children(e.pid()) {
			if comm(c) == "containerd" {
				pids = append(pids, c)
			}
		}
	}
	return pids
}

// importImage imports the busybox rootfs tarball as busybox:latest with
// CMD ["sh"], through the engine's own CLI (`docker import`, `berth image import`).
func (e *engine) importImage(ctx context.Context, o options, tarball string) error {
	args := []string{"import", "-c", `CMD ["sh"]`, tarball, "busybox:latest"}
	bin := o.docker
	if e.name == "berth" {
		bin, args = o.berth, append([]string{"image"}, args...)
	}
	_, err := e.cli(ctx, bin, args...)
	return err
}

// cli runs a CLI against this engine and returns its stdout.
func (e *engine) cli(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = e.cliEnv
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// removeAll force-removes every container of the engine, parallel.
func (e *engine) removeAll(ctx context.Context, parallel int) error {
	list, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return err
	}
	ids := make([]string, len(list.Items))
	for i, c := range list.Items {
		ids[i] = c.ID
	}
	return e.removeContainers(ctx, ids, parallel)
}

func (e *engine) removeContainers(ctx context.Context, ids []string, parallel int) error {
	return forEach(ctx, ids, parallel, func(ctx context.Context, id string) error {
		_, err := e.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
		if isNotFound(err) {
			return nil
		}
		return err
	})
}

// stop ends the daemon by its pid: SIGTERM, then SIGKILL after 20s. For
// dockerd it also ends the containerd it started, if that outlived it.
func (e *engine) stop() error {
	if e.cmd == nil || e.cmd.Process == nil {
		return nil
	}
	if e.api != nil {
		e.api.Close()
	}
	helpers := e.daemonPids()[1:]
	err := terminate(e.cmd.Process.Pid, e.exited, 20*time.Second)
	for _, p := range helpers {
		if alive(p) {
			if kerr := killPid(p, 10*time.Second); kerr != nil && err == nil {
				err = kerr
			}
		}
	}
	return err
}

// terminate sends SIGTERM to pid and waits for exited; SIGKILL after grace.
func terminate(pid int, exited <-chan struct{}, grace time.Duration) error {
	select {
	case <-exited:
		return nil
	default:
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-exited:
		return fmt.Errorf("pid %d ignored SIGTERM for %s and was killed", pid, grace)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("pid %d survives SIGKILL", pid)
	}
}

// killPid ends a process that is not our child: SIGTERM, polling, SIGKILL.
func killPid(pid int, grace time.Duration) error {
	return killPids([]int{pid}, grace)
}

// killPids sends SIGTERM to all of pids, waits up to grace for them to go,
// then SIGKILLs the rest. A zero grace kills at once.
func killPids(pids []int, grace time.Duration) error {
	sig := syscall.SIGTERM
	if grace == 0 {
		sig = syscall.SIGKILL
	}
	for _, p := range pids {
		_ = syscall.Kill(p, sig)
	}
	live := func() []int {
		var l []int
		for _, p := range pids {
			if alive(p) {
				l = append(l, p)
			}
		}
		return l
	}
	for t := time.Now(); time.Since(t) < grace; time.Sleep(20 * time.Millisecond) {
		if len(live()) == 0 {
			return nil
		}
	}
	for _, p := range live() {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	for t := time.Now(); time.Since(t) < 5*time.Second; time.Sleep(20 * time.Millisecond) {
		if len(live()) == 0 {
			return nil
		}
	}
	return fmt.Errorf("pids %v survive SIGKILL", live())
}

// logTail is the end of the daemon's log, on lines of its own, or "".
func (e *engine) logTail() string {
	data, _ := os.ReadFile(e.log)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	if t := strings.TrimSpace(string(data)); t != "" {
		return "\n" + t
	}
	return ""
}

// forEach calls f for every item, at most parallel at a time, and returns
// the first error (the others still run to the end).
func forEach[T any](ctx context.Context, items []T, parallel int, f func(context.Context, T) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, max(parallel, 1))
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(ctx, it); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// isNotFound tells a 404 from the API: the client's errors carry
// containerd's errdefs classes, which answer to NotFound().
func isNotFound(err error) bool {
	var nf interface{ NotFound() }
	return err != nil && errors.As(err, &nf)
}

// benchBridge names a bridge for one engine of this bench run, and its
// address: 10.<pid-derived>.<k>.1/24, away from docker0's 172.17/16.
func benchBridge(prefix string, k int) (name, bip string) {
	pid := os.Getpid()
	return fmt.Sprintf("%s%x", prefix, pid&0xffffff), fmt.Sprintf("10.%d.%d.1/24", 200+pid%50, (pid/50)%200+k)
}

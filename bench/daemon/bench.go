package main

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/testutil"
)

const image = "busybox:latest"

// run sets up both daemons, runs the chosen benchmarks and tears everything
// down; the results gathered so far are returned even on error.
func run(ctx context.Context, o options) (res *results, err error) {
	// Short: berth's shim sockets live at <dir>/berth/e/shims/<64 hex>/shim.sock
	// and a unix socket path is limited to 107 bytes.
	dir, err := os.MkdirTemp("", "bb")
	if err != nil {
		return nil, err
	}
	res = &results{Date: time.Now().UTC(), Host: hostInfo(), Load: "at start " + loadAvg()}
	// Other work on the host skews every figure: the load is part of the result.
	defer func() { res.Load += ", at end " + loadAvg() }()
	var engines []*engine
	defer func() {
		if cerr := cleanup(dir, engines, o); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	if err := os.Chmod(dir, 0o711); err != nil {
		return res, err
	}

	cliConfig := filepath.Join(dir, "cli")
	if err := os.Mkdir(cliConfig, 0o700); err != nil {
		return res, err
	}
	tarball := filepath.Join(dir, "busybox.tar")
	if err := busyboxTar(o.busybox, filepath.Join(dir, "rootfs"), tarball); err != nil {
		return res, err
	}

	logf(o, "starting berthd")
	b, err := startBerthd(ctx, o, filepath.Join(dir, "berth"), cliConfig)
	if b.cmd != nil {
		engines = append(engines, b)
	}
	if err != nil {
		return res, fmt.Errorf("berthd: %w", err)
	}
	res.Berth = fmt.Sprintf("berthd %s, shim %s", b.version, describeShim(o.berthd))

	var d *engine
	switch {
	case o.dockerd == "":
		res.DockerMissing = "-dockerd is empty"
	default:
		if _, lerr := exec.LookPath(o.dockerd); lerr != nil {
			res.DockerMissing = fmt.Sprintf("%s is not installed", o.dockerd)
			break
		}
		if _, lerr := exec.LookPath(o.docker); lerr != nil {
			res.DockerMissing = fmt.Sprintf("the docker CLI (%s) is not installed", o.docker)
			break
		}
		logf(o, "starting dockerd")
		var derr error
		d, derr = startDockerd(ctx, o, filepath.Join(dir, "docker"), cliConfig)
		if d.cmd != nil {
			engines = append(engines, d) // cleaned up, started or not
		}
		if derr != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			// berth's numbers are still worth having: say why Docker's are not there.
			fmt.Fprintf(os.Stderr, "bench/daemon: dockerd did not start: %v\n", derr)
			first, _, _ := strings.Cut(derr.Error(), "\n")
			res.DockerMissing = "dockerd did not start: " + first
			d = nil
			break
		}
		res.Docker = fmt.Sprintf("dockerd %s, containerd-shim-runc-v2, runc", d.version)
	}
	p := pair{berth: b, docker: d}
	for _, e := range p.all() {
		logf(o, "importing busybox into %s", e.name)
		if err := e.importImage(ctx, o, tarball); err != nil {
			return res, fmt.Errorf("%s: import: %w", e.name, err)
		}
	}

	// The idle reading comes first: right after the import, before any
	// container has run.
	for _, name := range allBenches {
		if !slices.Contains(o.benches, name) {
			continue
		}
		logf(o, "bench %s", name)
		var err error
		switch name {
		case "idle":
			err = benchIdle(ctx, o, p, res)
		case "run":
			err = benchRun(ctx, o, p, res)
		case "run-bridge":
			err = benchRunBridge(ctx, o, p, res)
		case "start50":
			err = benchStartDetached(ctx, o, p, res)
		case "shim":
			err = benchShim(ctx, o, p, res)
		case "ps":
			err = benchPs(ctx, o, p, res)
		case "stdin":
			err = benchStdin(ctx, o, p, res)
		case "exec":
			err = benchExec(ctx, o, p, res)
		case "registry":
			err = benchRegistry(ctx, o, p, dir, res)
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
	}
	return res, nil
}

// pair is the engines under test; docker is nil when Docker is not installed.
type pair struct{ berth, docker *engine }

func (p pair) all() []*engine {
	if p.docker == nil {
		return []*engine{p.berth}
	}
	return []*engine{p.docker, p.berth}
}

// cleanup removes every container, stops both daemons by pid, ends any
// process still running from dir (shims), unmounts and removes dir.
func cleanup(dir string, engines []*engine, o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	for _, e := range engines {
		logf(o, "cleanup %s", e.name)
		select {
		case <-e.exited:
		default:
			if e.api == nil {
				break
			}
			if err := e.removeAll(ctx, o.parallel); err != nil {
				errs = append(errs, fmt.Errorf("%s: remove containers: %w", e.name, err))
			}
		}
		if err := e.stop(); err != nil {
			errs = append(errs, fmt.Errorf("%s: stop: %w", e.name, err))
		}
	}
	// Only when removal failed: containers whose monitor is gone would
	// keep running, so they go first, then what runs from dir (monitors).
	var made []string
	for _, e := range engines {
		made = append(made, e.made...)
	}
	if left := processesOfContainers(made); len(left) > 0 {
		errs = append(errs, fmt.Errorf("container processes left, killed: %s", describePids(left)))
		if err := killPids(left, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if left := processesUnder(dir); len(left) > 0 {
		errs = append(errs, fmt.Errorf("processes left by the daemons, killed: %s", describePids(left)))
		if err := killPids(left, 5*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unmountAll(dir); err != nil {
		errs = append(errs, err)
	}
	for _, e := range engines {
		// berthd removes its unused bridge at a clean stop; a bridge the
		// bench made, or one a killed daemon left, goes here.
		if e.bridge != "" {
			_ = exec.Command("ip", "link", "del", e.bridge).Run()
		}
	}
	for _, e := range engines {
		if left := leftoverCgroups(e.made); len(left) > 0 {
			errs = append(errs, fmt.Errorf("%s left the cgroups of %d removed containers (empty ones removed now): %s", e.name, len(left), strings.Join(left, "; ")))
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func describePids(pids []int) string {
	var names []string
	for _, p := range pids {
		names = append(names, fmt.Sprintf("%d (%s)", p, comm(p)))
	}
	return strings.Join(names, ", ")
}

// busyboxTar makes the image's root filesystem from the static busybox and
// packs it as an import tarball.
func busyboxTar(busybox, rootfs, tarball string) error {
	if err := testutil.MakeBusyboxRootfs(busybox, rootfs); err != nil {
		return fmt.Errorf("busybox rootfs (apt-get install busybox-static): %w", err)
	}
	out, err := exec.Command("tar", "-C", rootfs, "--numeric-owner", "-cf", tarball, ".").CombinedOutput()
	if err != nil {
		return fmt.Errorf("tar: %v: %s", err, out)
	}
	return os.RemoveAll(rootfs)
}

// benchIdle reads the idle daemons' memory: berthd; dockerd + containerd.
func benchIdle(ctx context.Context, o options, p pair, res *results) error {
	if err := sleep(ctx, o.settle); err != nil {
		return err
	}
	read := func(e *engine) (*figure, *figure, string, error) {
		if e == nil {
			return nil, nil, "", nil
		}
		var total mem
		var parts []string
		for _, pid := range e.daemonPids() {
			m, err := readMem(pid)
			if err != nil {
				return nil, nil, "", err
			}
			total = total.add(m)
			parts = append(parts, fmt.Sprintf("%s %d/%d/%d", comm(pid), m.RSS, m.PSS, m.Anon))
		}
		return &figure{Value: float64(total.RSS), Min: float64(total.RSS), Max: float64(total.RSS), N: 1},
			&figure{Value: float64(total.PSS), Min: float64(total.PSS), Max: float64(total.PSS), N: 1},
			e.name + ": " + strings.Join(parts, " + "), nil
	}
	bRSS, bPSS, bNote, err := read(p.berth)
	if err != nil {
		return err
	}
	dRSS, dPSS, dNote, err := read(p.docker)
	if err != nil {
		return err
	}
	note := "RSS/PSS/anon KiB " + strings.Join(slices.DeleteFunc([]string{dNote, bNote}, func(s string) bool { return s == "" }), "; ")
	res.add(row{Bench: "idle", Name: "daemon idle RSS (dockerd+containerd)", Stat: "value", Unit: "KiB", Docker: dRSS, Berth: bRSS, Budget: &budget{MaxRatio: 0.25}})
	res.add(row{Bench: "idle", Name: "daemon idle PSS (dockerd+containerd)", Stat: "value", Unit: "KiB", Docker: dPSS, Berth: bPSS, Budget: &budget{MaxRatio: 0.25}, Note: note})
	return nil
}

// subject is one way of running a container, timed per call.
type subject struct {
	engine  *engine
	name    string
	start   func(ctx context.Context) (time.Duration, error)
	samples []time.Duration
	// phases, when the subject times its steps, holds one duration per
	// step and measured call (warm-up calls are dropped).
	phases *phases
}

// phases times the steps of one call in order: each mark closes the step
// since the previous mark.
type phases struct {
	names []string
	last  time.Time
	cur   []time.Duration
	all   [][]time.Duration // per step
}

func (p *phases) begin(t time.Time) { p.last, p.cur = t, p.cur[:0] }

func (p *phases) mark() {
	now := time.Now()
	p.cur = append(p.cur, now.Sub(p.last))
	p.last = now
}

// keep records the steps of the call that just ended.
func (p *phases) keep() {
	if len(p.all) == 0 {
		p.all = make([][]time.Duration, len(p.names))
	}
	for i := range min(len(p.cur), len(p.names)) {
		p.all[i] = append(p.all[i], p.cur[i])
	}
}

// String gives each step's median in ms.
func (p *phases) String() string {
	var parts []string
	for i, name := range p.names {
		if i < len(p.all) {
			if f := latency(p.all[i]); f != nil {
				parts = append(parts, fmt.Sprintf("%s %.1f", name, f.Value))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// benchRun times `run --rm --network none busybox true` through the docker
// CLI and the API against both engines, and the berth CLI against berthd.
// Rounds are interleaved, starting one subject further each round.
func benchRun(ctx context.Context, o options, p pair, res *results) error {
	args := []string{"run", "--rm", "--network", "none", image, "true"}
	var subjects []*subject
	for _, e := range p.all() {
		subjects = append(subjects,
			&subject{engine: e, name: "docker CLI", start: cliRun(e, o.docker, args)},
			newAPIRun(e, "none"))
	}
	subjects = append(subjects, &subject{engine: p.berth, name: "berth CLI", start: cliRun(p.berth, o.berth, args)})
	if err := rounds(ctx, o, subjects); err != nil {
		return err
	}
	get := func(e *engine, name string) *figure { return figureOf(subjects, e, name) }
	b := &budget{MaxRatio: 0.1, MaxValue: 50}
	res.add(row{Bench: "run", Name: "run --rm true: docker CLI (exec)", Stat: "median", Unit: "ms", Docker: get(p.docker, "docker CLI"), Berth: get(p.berth, "docker CLI"), Budget: b})
	res.add(row{Bench: "run", Name: "run --rm true: Engine API from Go", Stat: "median", Unit: "ms", Docker: get(p.docker, "API"), Berth: get(p.berth, "API"), Budget: b,
		Note: stepsNote(subjects)})
	res.add(row{Bench: "run", Name: "run --rm true: berth CLI (exec) vs docker CLI", Stat: "median", Unit: "ms", Docker: get(p.docker, "docker CLI"), Berth: get(p.berth, "berth CLI"), Budget: b})
	return nil
}

// benchRunBridge times `run --rm busybox true` on each engine's default
// bridge through the docker CLI and through the Engine API from Go (the
// docker CLI process costs ~15 ms on either side, which the API row leaves
// out), and berth's --network none in the same rounds: bridge networking
// may cost berth at most 1.3x its none run, and must stay within 1/10 of
// dockerd's bridge run.
func benchRunBridge(ctx context.Context, o options, p pair, res *results) error {
	bridge := []string{"run", "--rm", image, "true"}
	none := []string{"run", "--rm", "--network", "none", image, "true"}
	var subjects []*subject
	for _, e := range p.all() {
		subjects = append(subjects,
			&subject{engine: e, name: "bridge", start: cliRun(e, o.docker, bridge)},
			newAPIRun(e, "default"))
	}
	subjects = append(subjects, &subject{engine: p.berth, name: "none", start: cliRun(p.berth, o.docker, none)})
	if err := rounds(ctx, o, subjects); err != nil {
		return err
	}
	get := func(e *engine, name string) *figure { return figureOf(subjects, e, name) }
	res.add(row{Bench: "run-bridge", Name: "run --rm true, default bridge: docker CLI", Stat: "median", Unit: "ms",
		Docker: get(p.docker, "bridge"), Berth: get(p.berth, "bridge"), Budget: &budget{MaxRatio: 0.1}})
	res.add(row{Bench: "run-bridge", Name: "run --rm true, default bridge: Engine API from Go", Stat: "median", Unit: "ms",
		Docker: get(p.docker, "API"), Berth: get(p.berth, "API"), Budget: &budget{MaxRatio: 0.1},
		Note: stepsNote(subjects)})
	res.add(row{Bench: "run-bridge", Name: "berth: bridge vs --network none (docker column: berth none)", Stat: "median", Unit: "ms",
		Docker: get(p.berth, "none"), Berth: get(p.berth, "bridge"), Budget: &budget{MaxRatio: 1.3}})
	return nil
}

func rounds(ctx context.Context, o options, subjects []*subject) error {
	for round := -o.warmup; round < o.n; round++ {
		for k := range subjects {
			s := subjects[(k+max(round, 0))%len(subjects)]
			d, err := s.start(ctx)
			if err != nil {
				return fmt.Errorf("%s via %s: %w", s.engine.name, s.name, err)
			}
			if round >= 0 {
				s.samples = append(s.samples, d)
				if s.phases != nil {
					s.phases.keep()
				}
			}
		}
	}
	return nil
}

// cliRun execs a CLI against e and expects exit 0 and no output.
func cliRun(e *engine, bin string, args []string) func(context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = e.cliEnv
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		d := time.Since(t0)
		if err != nil || out.Len() > 0 {
			return 0, fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
		}
		return d, nil
	}
}

// newAPIRun makes the docker CLI's HTTP calls for `run --rm` on network
// mode network ("none", or "default" as the CLI sends without --network):
// create (AutoRemove), attach stdout+stderr (hijacked), wait
// condition=removed, start; done when the attach stream ends and the wait
// has answered. It times each step: the start call, then the stream's end
// (the container's run and exit) and the wait's answer (the removal).
func newAPIRun(e *engine, network string) *subject {
	ph := &phases{names: []string{"create", "attach", "start", "exit→EOF", "→removed"}}
	s := &subject{engine: e, name: "API", phases: ph}
	s.start = func(ctx context.Context) (time.Duration, error) {
		t0 := time.Now()
		ph.begin(t0)
		id, err := e.create(ctx, client.ContainerCreateOptions{
			Config:     &container.Config{Image: image, Cmd: []string{"true"}, AttachStdout: true, AttachStderr: true},
			HostConfig: &container.HostConfig{AutoRemove: true, NetworkMode: container.NetworkMode(network)},
		})
		if err != nil {
			return 0, err
		}
		ph.mark()
		fail := func(err error) (time.Duration, error) {
			_, _ = e.api.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
			return 0, err
		}
		att, err := e.api.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
		if err != nil {
			return fail(err)
		}
		defer att.Close()
		ph.mark()
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		wait := e.api.ContainerWait(wctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
		if _, err := e.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return fail(err)
		}
		ph.mark()
		if _, err := stdcopy.StdCopy(io.Discard, io.Discard, att.Reader); err != nil {
			return fail(fmt.Errorf("attach stream: %w", err))
		}
		ph.mark()
		select {
		case r := <-wait.Result:
			if r.StatusCode != 0 {
				return 0, fmt.Errorf("exit status %d", r.StatusCode)
			}
		case err := <-wait.Error:
			// The wait may arrive after the removal, as with the CLI.
			if !isNotFound(err) {
				return fail(fmt.Errorf("wait: %w", err))
			}
		}
		ph.mark()
		return time.Since(t0), nil
	}
	return s
}

// createContainers creates n containers of cmd (network none), parallel,
// and starts them if start is set. It returns the ids made, even on error.
func createContainers(ctx context.Context, e *engine, n, parallel int, cmd []string, start bool) ([]string, error) {
	ids := make([]string, n)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	err := forEach(ctx, idx, parallel, func(ctx context.Context, i int) error {
		id, err := e.create(ctx, client.ContainerCreateOptions{
			Config:     &container.Config{Image: image, Cmd: cmd},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			return err
		}
		ids[i] = id
		if start {
			_, err = e.api.ContainerStart(ctx, id, client.ContainerStartOptions{})
		}
		return err
	})
	return slices.DeleteFunc(ids, func(id string) bool { return id == "" }), err
}

// benchStartDetached times creating and starting o.detached `sleep 3600`
// containers, o.parallel at a time, then their forced removal.
func benchStartDetached(ctx context.Context, o options, p pair, res *results) error {
	startT := map[*engine][]time.Duration{}
	rmT := map[*engine][]time.Duration{}
	engines := p.all()
	for rep := range o.reps {
		for k := range engines {
			e := engines[(k+rep)%len(engines)]
			t0 := time.Now()
			ids, err := createContainers(ctx, e, o.detached, o.parallel, []string{"sleep", "3600"}, true)
			d := time.Since(t0)
			if err != nil {
				_ = e.removeContainers(ctx, ids, o.parallel)
				return fmt.Errorf("%s: %w", e.name, err)
			}
			startT[e] = append(startT[e], d)
			t0 = time.Now()
			if err := e.removeContainers(ctx, ids, o.parallel); err != nil {
				return fmt.Errorf("%s: rm -f: %w", e.name, err)
			}
			rmT[e] = append(rmT[e], time.Since(t0))
		}
	}
	name := fmt.Sprintf("%d x create+start sleep, %d parallel: wall", o.detached, o.parallel)
	res.add(row{Bench: "start50", Name: name, Stat: "median", Unit: "ms", Docker: latency(startT[p.docker]), Berth: latency(startT[p.berth]), Budget: &budget{MaxRatio: 0.2}})
	res.add(row{Bench: "start50", Name: fmt.Sprintf("%d x rm -f running, %d parallel: wall", o.detached, o.parallel), Stat: "median", Unit: "ms", Docker: latency(rmT[p.docker]), Berth: latency(rmT[p.berth])})
	return nil
}

// benchShim measures the per-container monitor of o.idleCtrs idle
// containers: the parent of each container's init (containerd-shim-runc-v2
// for Docker, berth-shim for berth, cross-checked with its shim.pid file).
func benchShim(ctx context.Context, o options, p pair, res *results) error {
	rss := map[*engine][]int64{}
	pss := map[*engine][]int64{}
	anon := map[*engine][]int64{}
	comms := map[*engine]string{}
	for _, e := range p.all() {
		ids, err := createContainers(ctx, e, o.idleCtrs, o.parallel, []string{"sleep", "3600"}, true)
		if err != nil {
			_ = e.removeContainers(ctx, ids, o.parallel)
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if err := sleep(ctx, o.settle); err != nil {
			return err
		}
		for _, id := range ids {
			shim, err := findShim(ctx, e, id)
			if err != nil {
				_ = e.removeContainers(ctx, ids, o.parallel)
				return err
			}
			m, err := readMem(shim)
			if err != nil {
				return err
			}
			rss[e] = append(rss[e], m.RSS)
			pss[e] = append(pss[e], m.PSS)
			anon[e] = append(anon[e], m.Anon)
			comms[e] = comm(shim)
		}
		if err := e.removeContainers(ctx, ids, o.parallel); err != nil {
			return fmt.Errorf("%s: rm -f: %w", e.name, err)
		}
	}
	note := fmt.Sprintf("%d idle containers each", o.idleCtrs)
	for _, e := range p.all() {
		note += fmt.Sprintf("; %s: monitor %q, anon %.0f KiB", e.name, comms[e], meanKiB(anon[e]).Value)
	}
	res.add(row{Bench: "shim", Name: "monitor RSS per running container", Stat: "mean", Unit: "KiB", Docker: meanKiB(rss[p.docker]), Berth: meanKiB(rss[p.berth]), Budget: &budget{MaxRatio: 0.25}})
	res.add(row{Bench: "shim", Name: "monitor PSS per running container", Stat: "mean", Unit: "KiB", Docker: meanKiB(pss[p.docker]), Berth: meanKiB(pss[p.berth]), Budget: &budget{MaxRatio: 0.25}, Note: note})
	return nil
}

// findShim returns the pid of the monitor of container id: the parent of
// its init. berth's shim.pid, when there, must agree.
func findShim(ctx context.Context, e *engine, id string) (int, error) {
	ins, err := e.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return 0, err
	}
	st := ins.Container.State
	if st == nil || !st.Running || st.Pid <= 0 {
		return 0, fmt.Errorf("%s: container %.12s is not running", e.name, id)
	}
	shim, err := parent(st.Pid)
	if err != nil {
		return 0, fmt.Errorf("%s: container %.12s: %w", e.name, id, err)
	}
	want := "containerd-shim"
	if e.name == "berth" {
		want = "berth-shim"
		if pid, ok := shimPidFile(e.execRoot, id); ok && pid != shim {
			return 0, fmt.Errorf("berth: container %.12s: shim.pid says %d, the init's parent is %d (%s)", id, pid, shim, comm(shim))
		}
	}
	if c := comm(shim); !strings.HasPrefix(c, want) {
		return 0, fmt.Errorf("%s: container %.12s: the init's parent %d is %q, not a %s", e.name, id, shim, c, want)
	}
	return shim, nil
}

// benchPs times listing o.psCtrs created containers: `docker ps -a`
// (and `berth ps -a`) by exec, and GET /containers/json?all=1.
func benchPs(ctx context.Context, o options, p pair, res *results) error {
	for _, e := range p.all() {
		ids, err := createContainers(ctx, e, o.psCtrs, o.parallel, []string{"true"}, false)
		if err != nil {
			_ = e.removeContainers(ctx, ids, o.parallel)
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	var subjects []*subject
	for _, e := range p.all() {
		subjects = append(subjects,
			&subject{engine: e, name: "docker ps", start: cliPs(e, o.docker, o.psCtrs)},
			&subject{engine: e, name: "API", start: apiPs(e, o.psCtrs)})
	}
	subjects = append(subjects, &subject{engine: p.berth, name: "berth ps", start: cliPs(p.berth, o.berth, o.psCtrs)})
	err := rounds(ctx, o, subjects)
	for _, e := range p.all() {
		if rerr := e.removeAll(ctx, o.parallel); rerr != nil && err == nil {
			err = fmt.Errorf("%s: rm -f: %w", e.name, rerr)
		}
	}
	if err != nil {
		return err
	}
	get := func(e *engine, name string) *figure { return figureOf(subjects, e, name) }
	b := &budget{MaxRatio: 1}
	res.add(row{Bench: "ps", Name: fmt.Sprintf("ps -a, %d created: docker CLI (exec)", o.psCtrs), Stat: "median", Unit: "ms", Docker: get(p.docker, "docker ps"), Berth: get(p.berth, "docker ps"), Budget: b})
	res.add(row{Bench: "ps", Name: fmt.Sprintf("ps -a, %d created: GET /containers/json", o.psCtrs), Stat: "median", Unit: "ms", Docker: get(p.docker, "API"), Berth: get(p.berth, "API"), Budget: b})
	res.add(row{Bench: "ps", Name: fmt.Sprintf("ps -a, %d created: berth CLI vs docker CLI", o.psCtrs), Stat: "median", Unit: "ms", Docker: get(p.docker, "docker ps"), Berth: get(p.berth, "berth ps"), Budget: b})
	return nil
}

// cliPs execs `ps -a` and checks that its table lists n containers.
func cliPs(e *engine, bin string, n int) func(context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		t0 := time.Now()
		out, err := e.cli(ctx, bin, "ps", "-a")
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if got := strings.Count(out, "\n") - 1; got != n {
			return 0, fmt.Errorf("%s ps -a listed %d containers, want %d", filepath.Base(bin), got, n)
		}
		return d, nil
	}
}

func apiPs(e *engine, n int) func(context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		t0 := time.Now()
		list, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true})
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if len(list.Items) != n {
			return 0, fmt.Errorf("listed %d containers, want %d", len(list.Items), n)
		}
		return d, nil
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func hostInfo() string {
	kernel := "linux"
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "linux " + strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%s, %d CPUs", kernel, runtime.NumCPU())
}

// describeShim says what berth-shim beside berthd is (a Go binary or not),
// since its memory depends on it.
func describeShim(berthd string) string {
	p := filepath.Join(filepath.Dir(berthd), "berth-shim")
	fi, err := os.Stat(p)
	if err != nil {
		return "not found beside berthd"
	}
	kind := "native"
	if _, err := buildinfo.ReadFile(p); err == nil {
		kind = "Go"
	}
	return fmt.Sprintf("%s (%s binary, %d KiB)", p, kind, fi.Size()/1024)
}

// figureOf is the latency of e's subject called name (nil without one).
func figureOf(subjects []*subject, e *engine, name string) *figure {
	for _, s := range subjects {
		if e != nil && s.engine == e && s.name == name {
			return latency(s.samples)
		}
	}
	return nil
}

// stepsNote renders the per-step medians of the subjects that record them.
func stepsNote(subjects []*subject) string {
	var steps []string
	for _, s := range subjects {
		if s.phases != nil {
			steps = append(steps, s.engine.name+": "+s.phases.String())
		}
	}
	return "median ms per step: " + strings.Join(steps, "; ")
}

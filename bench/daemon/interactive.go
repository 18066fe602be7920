package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// The interactive rows: bytes through an attach's stdin and stdout, and the
// latency of an exec, as a user at a shell or a script in CI meets them.

// benchStdin pipes o.stdinMB MiB through `run -i --rm busybox cat` with the
// docker CLI against each engine, checks the sha256 of what comes back and
// reports MB/s (median of o.stdinReps runs, interleaved).
func benchStdin(ctx context.Context, o options, p pair, res *results) error {
	size := int64(o.stdinMB) << 20
	// Incompressible, deterministic, generated once: the CLI reads it
	// from a pipe as fast as it can be written.
	data := make([]byte, size)
	var seed [32]byte
	for off := 0; off < len(data); off += len(seed) {
		seed = sha256.Sum256(seed[:])
		copy(data[off:], seed[:])
	}
	want := sha256.Sum256(data)
	args := []string{"run", "-i", "--rm", "--network", "none", image, "cat"}
	var subjects []*subject
	for _, e := range p.all() {
		subjects = append(subjects, &subject{engine: e, name: "docker CLI", start: func(ctx context.Context) (time.Duration, error) {
			cmd := exec.CommandContext(ctx, o.docker, args...)
			cmd.Env = e.cliEnv
			cmd.Stdin = strings.NewReader(string(data))
			h := sha256.New()
			var stderr strings.Builder
			cmd.Stdout, cmd.Stderr = h, &stderr
			t0 := time.Now()
			err := cmd.Run()
			d := time.Since(t0)
			if err != nil {
				return 0, fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
			}
			if got := h.Sum(nil); string(got) != string(want[:]) {
				return 0, fmt.Errorf("docker %s: the output's sha256 differs from the input's", strings.Join(args, " "))
			}
			return d, nil
		}})
	}
	ro := o
	ro.n, ro.warmup = o.stdinReps, 1
	if err := rounds(ctx, ro, subjects); err != nil {
		return err
	}
	get := func(e *engine) *figure {
		for _, s := range subjects {
			if e != nil && s.engine == e {
				return throughput(size, s.samples)
			}
		}
		return nil
	}
	res.add(row{Bench: "stdin", Name: fmt.Sprintf("stdin round trip %d MiB: run -i cat", o.stdinMB), Stat: "median", Unit: "MB/s",
		Docker: get(p.docker), Berth: get(p.berth), Budget: &budget{MinRatio: 1},
		Note: "docker CLI against each engine, sha256 checked; p90 is the slow tail (MB/s of the p90 time)"})
	return nil
}

// throughput turns durations into MB/s of size bytes: the median's, with
// the p90 taken on the time (the slow tail), so p90 <= median.
func throughput(size int64, d []time.Duration) *figure {
	lat := latency(d)
	if lat == nil {
		return nil
	}
	mbps := func(ms float64) float64 { return float64(size) / 1e6 / (ms / 1000) }
	return &figure{Value: mbps(lat.Value), P90: mbps(lat.P90), Min: mbps(lat.Max), Max: mbps(lat.Min), N: lat.N}
}

// benchExec times `exec c true` in one running container per engine:
// the docker CLI, and the Engine API from Go making the CLI's calls
// (create with stdout+stderr, start attached and read to the end, inspect
// for the exit code); and the berth CLI against berthd.
func benchExec(ctx context.Context, o options, p pair, res *results) error {
	var subjects []*subject
	var berthCtr string
	for _, e := range p.all() {
		id, err := e.create(ctx, client.ContainerCreateOptions{
			Config:     &container.Config{Image: image, Cmd: []string{"sleep", "3600"}},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := e.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		defer e.removeContainers(context.WithoutCancel(ctx), []string{id}, 1)
		subjects = append(subjects,
			&subject{engine: e, name: "docker CLI", start: cliRun(e, o.docker, []string{"exec", id, "true"})},
			apiExec(e, id))
		if e == p.berth {
			berthCtr = id
		}
	}
	subjects = append(subjects, &subject{engine: p.berth, name: "berth CLI", start: cliRun(p.berth, o.berth, []string{"exec", berthCtr, "true"})})
	if err := rounds(ctx, o, subjects); err != nil {
		return err
	}
	get := func(e *engine, name string) *figure { return figureOf(subjects, e, name) }
	b := &budget{MaxRatio: 0.25}
	res.add(row{Bench: "exec", Name: "exec true: docker CLI", Stat: "median", Unit: "ms", Docker: get(p.docker, "docker CLI"), Berth: get(p.berth, "docker CLI"), Budget: b})
	res.add(row{Bench: "exec", Name: "exec true: Engine API (create+start+inspect)", Stat: "median", Unit: "ms", Docker: get(p.docker, "API"), Berth: get(p.berth, "API"), Budget: b,
		Note: stepsNote(subjects)})
	res.add(row{Bench: "exec", Name: "exec true: berth CLI vs docker CLI", Stat: "median", Unit: "ms", Docker: get(p.docker, "docker CLI"), Berth: get(p.berth, "berth CLI"), Budget: b})
	return nil
}

// apiExec is the subject making the docker CLI's calls for `exec c true`,
// timing each: create, start (until the stream's head), the stream's end
// (the process's run and exit), inspect.
func apiExec(e *engine, ctr string) *subject {
	ph := &phases{names: []string{"create", "start", "run→EOF", "inspect"}}
	s := &subject{engine: e, name: "API", phases: ph}
	s.start = func(ctx context.Context) (time.Duration, error) {
		t0 := time.Now()
		ph.begin(t0)
		cr, err := e.api.ExecCreate(ctx, ctr, client.ExecCreateOptions{Cmd: []string{"true"}, AttachStdout: true, AttachStderr: true})
		if err != nil {
			return 0, err
		}
		ph.mark()
		att, err := e.api.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
		if err != nil {
			return 0, err
		}
		ph.mark()
		_, err = stdcopy.StdCopy(io.Discard, io.Discard, att.Reader)
		att.Close()
		if err != nil {
			return 0, fmt.Errorf("exec stream: %w", err)
		}
		ph.mark()
		ins, err := e.api.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{})
		if err != nil {
			return 0, err
		}
		if ins.Running || ins.ExitCode != 0 {
			return 0, fmt.Errorf("exec %s: running %v, exit code %d", filepath.Base(cr.ID), ins.Running, ins.ExitCode)
		}
		ph.mark()
		return time.Since(t0), nil
	}
	return s
}

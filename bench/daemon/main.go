// Command daemon compares berthd with dockerd side by side, in one run, on
// the things a user of a container engine waits for or pays for:
//
//	run      `run --rm --network none busybox true`, three ways: the docker CLI
//	         (DOCKER_HOST) against both daemons, the Engine API from Go against
//	         both (create, attach, wait condition=removed, start: the CLI's
//	         sequence), and the berth CLI against berthd
//	run-bridge `run --rm busybox true` on the default bridge (veth, address,
//	         namespace) with the docker CLI and the Engine API from Go against
//	         both, beside berth's --network none in the same rounds
//	start50  50 detached `sleep 3600` containers created and started, 8 at a time
//	shim     RSS and PSS of the per-container monitor, 10 idle containers running
//	idle     the daemon's idle RSS and PSS after an image import (dockerd counts
//	         with its containerd)
//	ps       `docker ps -a` and GET /containers/json?all=1 over 200 created containers
//	stdin    100 MiB through `docker run -i --rm busybox cat`, sha256 checked, MB/s
//	exec     `exec c true` in a running container: the docker CLI, and the API
//	         (exec create, start attached, inspect)
//	registry pull, push and load of a 100 MB image of four gzip layers
//	         through a local docker-registry, MB/s
//
// It starts a private berthd (bin/berthd) and, when dockerd is installed, a
// private dockerd with its own containerd, each with its own data root, exec
// root and unix socket under one temp dir; imports the same busybox image
// (Debian's busybox-static) into both; prints one table of medians and p90s
// with the ratio berth/docker and the budget each row must meet; and removes
// everything it made: containers, both daemons (by pid), mounts and dirs.
//
//	go run ./bench/daemon [-n 20] [-bench run,start50,shim,idle,ps,stdin,exec] [-json out.json]
//
// It runs as root. Never touches another daemon: sockets, pids and
// directories are its own, and leftover processes are found by its temp dir.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	n         int
	warmup    int
	benches   []string
	berthd    string
	berth     string
	dockerd   string
	docker    string
	busybox   string
	jsonOut   string
	detached  int
	parallel  int
	reps      int
	idleCtrs  int
	psCtrs    int
	settle    time.Duration
	stdinMB   int
	stdinReps int
	verbose   bool
}

var allBenches = []string{"idle", "run", "run-bridge", "start50", "shim", "ps", "stdin", "exec", "registry"}

func main() {
	var o options
	var benches string
	flag.IntVar(&o.n, "n", 20, "measured repetitions of each latency (run, ps)")
	flag.IntVar(&o.warmup, "warmup", 3, "unmeasured repetitions first")
	flag.StringVar(&benches, "bench", strings.Join(allBenches, ","), "benchmarks to run: "+strings.Join(allBenches, ","))
	flag.StringVar(&o.berthd, "berthd", "bin/berthd", "berthd binary (berth-shim and berth-runtime are found beside it)")
	flag.StringVar(&o.berth, "berth", "bin/berth", "berth CLI binary")
	flag.StringVar(&o.dockerd, "dockerd", "dockerd", `dockerd binary; "" leaves Docker out`)
	flag.StringVar(&o.docker, "docker", "docker", "docker CLI binary")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "static busybox for the image")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.IntVar(&o.detached, "detached", 50, "containers created and started by start50")
	flag.IntVar(&o.parallel, "parallel", 8, "parallel create+start requests in start50 and ps setup")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of start50")
	flag.IntVar(&o.idleCtrs, "idle-containers", 10, "running containers whose monitors are measured by shim")
	flag.IntVar(&o.psCtrs, "ps-containers", 200, "created containers listed by ps")
	flag.IntVar(&o.stdinMB, "stdin-mb", 100, "MiB piped through run -i cat by stdin")
	flag.IntVar(&o.stdinReps, "stdin-reps", 5, "measured repetitions of stdin (after one warm-up)")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "idle time before a memory reading")
	flag.BoolVar(&o.verbose, "v", false, "log progress")
	flag.Parse()
	o.benches = strings.Split(benches, ",")
	for _, b := range o.benches {
		if !slices.Contains(allBenches, b) {
			fatalf("unknown benchmark %q (%s)", b, strings.Join(allBenches, ","))
		}
	}
	if os.Geteuid() != 0 {
		fatalf("the bench starts daemons and containers: run it as root")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o)
	if res != nil && len(res.Rows) > 0 {
		res.print(os.Stdout)
		if o.jsonOut != "" {
			if werr := writeJSON(o.jsonOut, res); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		fatalf("%v", err)
	}
}

func writeJSON(path string, r *results) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func logf(o options, format string, args ...any) {
	if o.verbose {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/daemon: "+format+"\n", args...)
	os.Exit(1)
}

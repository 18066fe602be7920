// Command berth-runtime is berth's OCI runtime, with runc's command line.
package main

import (
	"os"
	"runtime"

	"github.com/berth-engine/berth/internal/runtime/cli"
	"github.com/berth-engine/berth/internal/runtime/container"
	_ "github.com/berth-engine/berth/internal/runtime/faststart" // `start` in C when it only releases the fifo; see its doc
	"github.com/berth-engine/berth/internal/runtime/nsexec"      // the C stage of `init`, and `run`'s prespawned init; see its doc
)

// The init must run on the process's main thread: it joins cgroups per
// thread and execs from that thread, and the kernel accounts memory to the
// thread group leader. Locking in init() keeps the main goroutine on it.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.LockOSThread()
	}
}

func main() {
	// `init` is the container's own first process: skip the command line
	// machinery on the start-latency path.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		container.Init()
	}
	code := cli.Main(os.Args[1:])
	// A `run` that never reached its spawn (bad bundle, bad flags) ends
	// the init prespawned for it rather than leave it to whoever reaps.
	nsexec.DiscardPrespawned()
	os.Exit(code)
}

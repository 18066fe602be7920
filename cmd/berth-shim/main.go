// Command berth-shim is the per-container monitor: it creates the container
// with the runtime library in-process, so it is the init's parent and
// reaper, writes the container's output to the log driver, records the exit
// status, and serves berthd over a unix socket (internal/shim/shimapi).
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/berth-engine/berth/internal/runtime/container"
	_ "github.com/berth-engine/berth/internal/runtime/nsexec" // the C stage of `init`; see its doc
	"github.com/berth-engine/berth/internal/shim"
	"github.com/berth-engine/berth/internal/version"
)

// The runtime re-executes this binary as the container's init
// (/proc/self/exe init): it must run on the main thread, as in
// cmd/berth-runtime.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.LockOSThread()
	}
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "init":
			container.Init()
		case "--version", "-v", "version":
			fmt.Printf("berth-shim version %s\n", version.Version)
			return
		}
	}
	// One shim per container: its idle memory is multiplied by the number
	// of containers. A long-lived process with a tiny live heap can afford
	// a tighter GC target.
	debug.SetGCPercent(50)
	os.Exit(shim.Main(os.Args[1:]))
}

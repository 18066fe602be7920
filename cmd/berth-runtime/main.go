// Command berth-runtime is berth's OCI runtime, with runc's command line.
package main

import (
	"os"

	"github.com/berth-engine/berth/internal/runtime/cli"
	"github.com/berth-engine/berth/internal/runtime/container"
	_ "github.com/berth-engine/berth/internal/runtime/nsexec" // the C stage of `init`; see its doc
)

func main() {
	// `init` is the container's own first process: skip the command line
	// machinery on the start-latency path.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		container.Init()
	}
	os.Exit(cli.Main(os.Args[1:]))
}

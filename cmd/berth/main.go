// Command berth is berth's command line, mirroring the docker CLI.
// It arrives with the daemon issue; until then the binary only reports its
// version, so that packaging, `make install` and the import rules are in place.
package main

import (
	"fmt"
	"os"

	"github.com/berth-engine/berth/internal/version"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-v" || os.Args[1] == "version") {
		fmt.Printf("berth version %s\n", version.Version)
		return
	}
	fmt.Fprintln(os.Stderr, "berth: not built yet in this release; berth-runtime is the usable component")
	os.Exit(1)
}

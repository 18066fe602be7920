package depcheck

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/berth-engine/berth/"

// rank orders the layers; a package may import only packages of a lower or
// equal rank, and the rules below narrow that further.
var ranks = []struct {
	prefix string
	rank   int
}{
	{"internal/version", 0}, {"internal/errdefs", 0}, {"internal/log", 0}, {"internal/atomicfile", 0},
	{"internal/streams", 0},
	{"internal/runtime/", 1}, {"internal/mount", 1}, {"internal/content", 1}, {"internal/archive", 1},
	{"internal/snapshot", 1}, {"internal/events", 1}, {"internal/logger", 1}, {"internal/volume", 1},
	{"internal/network", 1}, {"internal/registry", 1}, {"internal/container", 1}, {"internal/oci", 1},
	{"internal/testutil", 1},
	{"internal/image", 2}, {"internal/shim", 2}, {"internal/builder", 2}, {"internal/compose", 2},
	{"internal/daemon", 3},
	{"internal/server", 4}, {"internal/cli", 4},
	{"cmd/", 5}, {"integration/", 5}, {"bench/", 5}, {"internal/depcheck", 5},
}

func rankOf(pkg string) (int, bool) {
	best, found, bestLen := 0, false, -1
	for _, r := range ranks {
		if strings.HasPrefix(pkg, r.prefix) && len(r.prefix) > bestLen {
			best, found, bestLen = r.rank, true, len(r.prefix)
		}
	}
	return best, found
}

// forbidden lists import rules stronger than the ranks: importer prefix →
// prefixes it must never import.
var forbidden = map[string][]string{
	// The runtime is usable on its own: nothing of ours but itself.
	"internal/runtime/": {"internal/"},
	"internal/shim":     {"internal/daemon", "internal/server", "internal/image", "internal/network"},
	"internal/network":  {"internal/daemon"},
	// The CLI sees only the API types and the client.
	"internal/cli":      {"internal/daemon", "internal/server", "internal/runtime", "internal/image", "internal/container"},
	"cmd/berth/":        {"internal/daemon", "internal/server", "internal/runtime"},
	"internal/testutil": {"internal/"},
}

var allowed = map[string][]string{
	"internal/runtime/": {"internal/runtime/"},
	"internal/testutil": {"internal/runtime/specgen"},
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	checked := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], module)
		from, ok := rankOf(pkg)
		if !ok {
			t.Errorf("package %s has no layer: add it to ranks in depcheck_test.go", pkg)
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			to, ok := rankOf(dep)
			if ok && to > from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point down", pkg, from, dep, to)
			}
			if violates(pkg, dep) {
				t.Errorf("%s must not import %s", pkg, dep)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages checked: go list output looks wrong", checked)
	}
}

func violates(pkg, dep string) bool {
	for from, deny := range forbidden {
		if !strings.HasPrefix(pkg, from) {
			continue
		}
		for _, d := range deny {
			if !strings.HasPrefix(dep, d) {
				continue
			}
			ok := false
			for _, a := range allowed[from] {
				if strings.HasPrefix(dep, a) {
					ok = true
				}
			}
			if !ok {
				return true
			}
		}
	}
	return false
}

func TestViolates(t *testing.T) {
	cases := []struct {
		name, pkg, dep string
		want           bool
	}{
		{"runtime imports runtime", "internal/runtime/container", "internal/runtime/rootfs", false},
		{"runtime imports daemon", "internal/runtime/container", "internal/daemon", true},
		{"runtime imports version", "internal/runtime/cli", "internal/version", true},
		{"shim imports image", "internal/shim", "internal/image", true},
		{"cli imports daemon", "internal/cli/command/container", "internal/daemon", true},
		{"testutil imports specgen", "internal/testutil", "internal/runtime/specgen", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := violates(c.pkg, c.dep); got != c.want {
				t.Fatalf("violates(%s, %s) = %v, want %v", c.pkg, c.dep, got, c.want)
			}
		})
	}
}

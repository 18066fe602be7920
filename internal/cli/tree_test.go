package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli"
	"github.com/berth-engine/berth/internal/cli/command"
)

// TestEveryCommandHelps runs --help on every command of the tree: a flag
// clash (two flags on one letter) panics here rather than in a user's hands.
func TestEveryCommandHelps(t *testing.T) {
	root := cli.NewRootCommand(command.NewCli(&bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" }))
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(append([]string(nil), path...), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	walk(root, nil)
	for _, want := range []string{"run", "create", "start", "stop", "kill", "restart", "wait", "rm", "logs", "inspect", "top",
		"rename", "stats", "import", "rmi", "tag", "history", "container prune", "image inspect", "image rm", "image tag",
		"events", "system events", "system df", "system prune", "image prune", "diff", "export", "container diff", "container export",
		"attach", "exec", "pause", "unpause", "update", "container attach", "container exec", "container pause", "container unpause", "container update"} {
		found := false
		for _, p := range paths {
			found = found || strings.Join(p, " ") == want
		}
		if !found {
			t.Errorf("no command %q", want)
		}
	}
	for _, p := range paths {
		var out, errb bytes.Buffer
		c := command.NewCli(&out, &errb, func(string) string { return "" })
		if code := cli.Run(context.Background(), c, append(p, "--help")); code != 0 || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("berth %s --help: exit %d\n%s%s", strings.Join(p, " "), code, out.String(), errb.String())
		}
	}
}

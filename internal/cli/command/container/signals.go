//go:build unix

package container

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/cli/command"
)

// forwardSignals is --sig-proxy: every signal berth receives is sent to
// the container with a kill request, as docker does when there is no TTY
// (with one, the keys reach the container's terminal instead). SIGCHLD,
// SIGPIPE, SIGURG (the Go runtime's preemption signal) and SIGWINCH are
// berth's own. A third SIGINT or SIGTERM calls giveUp, so a container that
// ignores them cannot hold the terminal hostage. The returned stop ends
// the forwarding.
func forwardSignals(ctx context.Context, cli *command.Cli, api command.APIClient, id string, giveUp func()) (stop func()) {
	sigc := make(chan os.Signal, 128)
	signal.Notify(sigc)
	done := make(chan struct{})
	go func() {
		terms := 0
		for {
			select {
			case <-done:
				return
			case s := <-sigc:
				sig, ok := s.(syscall.Signal)
				if !ok {
					continue
				}
				switch sig {
				case syscall.SIGCHLD, syscall.SIGPIPE, syscall.SIGURG, syscall.SIGWINCH:
					continue
				case syscall.SIGINT, syscall.SIGTERM:
					if terms++; terms == 3 {
						fmt.Fprint(cli.Err(), "\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n")
						giveUp()
						return
					}
				}
				name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
				if name == "" {
					continue
				}
				_, _ = api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: name})
			}
		}
	}()
	return func() {
		signal.Stop(sigc)
		close(done)
	}
}

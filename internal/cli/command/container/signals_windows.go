package container

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/command"
)

// forwardSignals is --sig-proxy on Windows: only ctrl-c exists, sent on
// as SIGINT; the third one calls giveUp.
func forwardSignals(ctx context.Context, cli *command.Cli, api command.APIClient, id string, giveUp func()) (stop func()) {
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, os.Interrupt)
	done := make(chan struct{})
	go func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-sigc:
				if n == 3 {
					fmt.Fprint(cli.Err(), "\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n")
					giveUp()
					return
				}
				_, _ = api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "INT"})
			}
		}
	}()
	return func() {
		signal.Stop(sigc)
		close(done)
	}
}

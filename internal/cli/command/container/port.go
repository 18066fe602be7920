package container

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewPortCommand returns `berth port`.
func NewPortCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			res, err := api.ContainerInspect(cmd.Context(), args[0], client.ContainerInspectOptions{})
			if err != nil {
				return err
			}
			var ports network.PortMap
			if ns := res.Container.NetworkSettings; ns != nil {
				ports = ns.Ports
			}
			hostAddr := func(b network.PortBinding) string {
				ip := b.HostIP
				if !ip.IsValid() {
					ip = netip.IPv4Unspecified()
				}
				return netip.AddrPortFrom(ip, 0).Addr().String() + ":" + b.HostPort
			}
			if len(args) == 2 {
				want := args[1]
				if !strings.Contains(want, "/") {
					want += "/tcp"
				}
				p, err := network.ParsePort(want)
				if err != nil {
					return command.StatusError{Status: fmt.Sprintf("Error: invalid port (%s): %v", args[1], err), StatusCode: 1}
				}
				bs := ports[p]
				if len(bs) == 0 {
					return command.StatusError{Status: fmt.Sprintf("Error: No public port '%s' published for %s", p, args[0]), StatusCode: 1}
				}
				for _, b := range bs {
					fmt.Fprintln(cli.Out(), hostAddr(b))
				}
				return nil
			}
			var out []string
			for p, bs := range ports {
				for _, b := range bs {
					out = append(out, fmt.Sprintf("%s -> %s", p, hostAddr(b)))
				}
			}
			sort.Strings(out)
			for _, l := range out {
				fmt.Fprintln(cli.Out(), l)
			}
			return nil
		},
	}
}

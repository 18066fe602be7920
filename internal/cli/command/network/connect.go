package network

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// NewConnectCommand returns `berth network connect`.
func NewConnectCommand(cli *command.Cli) *cobra.Command {
	var (
		ip, ip6, mac string
		aliases, lnk []string
	)
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			es := &network.EndpointSettings{Aliases: aliases, Links: lnk}
			if ip != "" {
				a, err := netip.ParseAddr(ip)
				if err != nil {
					return command.StatusError{Status: fmt.Sprintf("invalid argument %q for \"--ip\" flag: %v", ip, err), StatusCode: 125}
				}
				es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: a}
			}
			if ip6 != "" {
				a, err := netip.ParseAddr(ip6)
				if err != nil {
					return command.StatusError{Status: fmt.Sprintf("invalid argument %q for \"--ip6\" flag: %v", ip6, err), StatusCode: 125}
				}
				if es.IPAMConfig == nil {
					es.IPAMConfig = &network.EndpointIPAMConfig{}
				}
				es.IPAMConfig.IPv6Address = a
			}
			if mac != "" {
				m, err := net.ParseMAC(mac)
				if err != nil {
					return command.StatusError{Status: fmt.Sprintf("%s is not a valid mac address", mac), StatusCode: 125}
				}
				es.MacAddress = network.HardwareAddr(m)
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			_, err = api.NetworkConnect(cmd.Context(), args[0], client.NetworkConnectOptions{Container: args[1], EndpointConfig: es})
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&ip, "ip", "", "IPv4 address (e.g., \"172.30.100.104\")")
	f.StringVar(&ip6, "ip6", "", "IPv6 address (e.g., \"2001:db8::33\")")
	f.StringVar(&mac, "mac-address", "", "MAC address")
	f.StringArrayVar(&aliases, "alias", nil, "Add network-scoped alias for the container")
	f.StringArrayVar(&lnk, "link", nil, "Add link to another container")
	return cmd
}

// NewDisconnectCommand returns `berth network disconnect`.
func NewDisconnectCommand(cli *command.Cli) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			_, err = api.NetworkDisconnect(cmd.Context(), args[0], client.NetworkDisconnectOptions{Container: args[1], Force: force})
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return cmd
}

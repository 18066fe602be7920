package network

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type createOptions struct {
	driver      string
	opts        []string
	labels      []string
	subnets     []string
	gateways    []string
	ipRanges    []string
	ipamDriver  string
	internal    bool
	attachable  bool
	ipv6        bool
	ipv4        bool
	scope       string
	ipamOptions []string
}

// NewCreateCommand returns `berth network create`.
func NewCreateCommand(cli *command.Cli) *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request(cmd)
			if err != nil {
				return err
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			res, err := api.NetworkCreate(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			for _, w := range res.Warning {
				if w != "" {
					fmt.Fprintln(cli.Err(), "WARNING:", w)
				}
			}
			fmt.Fprintln(cli.Out(), res.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.StringArrayVarP(&o.opts, "opt", "o", nil, "Set driver specific options")
	f.StringArrayVar(&o.labels, "label", nil, "Set metadata on a network")
	f.StringArrayVar(&o.subnets, "subnet", nil, "Subnet in CIDR format that represents a network segment")
	f.StringArrayVar(&o.gateways, "gateway", nil, "IPv4 or IPv6 Gateway for the master subnet")
	f.StringArrayVar(&o.ipRanges, "ip-range", nil, "Allocate container ip from a sub-range")
	f.StringVar(&o.ipamDriver, "ipam-driver", "default", "IP Address Management Driver")
	f.StringArrayVar(&o.ipamOptions, "ipam-opt", nil, "Set IPAM driver specific options")
	f.BoolVar(&o.internal, "internal", false, "Restrict external access to the network")
	f.BoolVar(&o.attachable, "attachable", false, "Enable manual container attachment")
	f.BoolVar(&o.ipv6, "ipv6", false, "Enable or disable IPv6 networking")
	f.BoolVar(&o.ipv4, "ipv4", true, "Enable or disable IPv4 address assignment")
	f.StringVar(&o.scope, "scope", "", "Control the network's scope")
	return cmd
}

func keyValues(in []string, flag string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if flag != "" && !ok {
			return nil, command.StatusError{Status: fmt.Sprintf("invalid argument %q for \"--%s\" flag: bad format %s", kv, flag, kv), StatusCode: 125}
		}
		out[k] = v
	}
	return out, nil
}

// request builds the create request, pairing each --gateway and
// --ip-range with the --subnet that holds it, as docker's CLI does.
func (o *createOptions) request(cmd *cobra.Command) (client.NetworkCreateOptions, error) {
	opts, err := keyValues(o.opts, "opt")
	if err != nil {
		return client.NetworkCreateOptions{}, err
	}
	labels, err := keyValues(o.labels, "")
	if err != nil {
		return client.NetworkCreateOptions{}, err
	}
	ipamOpts, err := keyValues(o.ipamOptions, "ipam-opt")
	if err != nil {
		return client.NetworkCreateOptions{}, err
	}
	req := client.NetworkCreateOptions{
		Driver: o.driver, Options: opts, Labels: labels, Internal: o.internal,
		Attachable: o.attachable, Scope: o.scope,
	}
	if cmd.Flags().Changed("ipv6") {
		v := o.ipv6
		req.EnableIPv6 = &v
	}
	if cmd.Flags().Changed("ipv4") {
		v := o.ipv4
		req.EnableIPv4 = &v
	}
	var cfgs []network.IPAMConfig
	for _, s := range o.subnets {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return req, command.StatusError{Status: fmt.Sprintf("invalid argument %q for \"--subnet\" flag: invalid CIDR address: %s", s, s), StatusCode: 125}
		}
		cfgs = append(cfgs, network.IPAMConfig{Subnet: p})
	}
	find := func(a netip.Addr, what string) (*network.IPAMConfig, error) {
		for i := range cfgs {
			if cfgs[i].Subnet.Contains(a) {
				return &cfgs[i], nil
			}
		}
		return nil, command.StatusError{Status: fmt.Sprintf("no matching subnet for %s %s", what, a), StatusCode: 1}
	}
	for _, g := range o.gateways {
		a, err := netip.ParseAddr(g)
		if err != nil {
			return req, command.StatusError{Status: fmt.Sprintf("invalid argument %q for \"--gateway\" flag: invalid string being converted to IP address: %s", g, g), StatusCode: 125}
		}
		c, err := find(a, "gateway")
		if err != nil {
			return req, err
		}
		if c.Gateway.IsValid() {
			return req, command.StatusError{Status: fmt.Sprintf("cannot configure multiple gateways (%s, %s) for the same subnet (%s)", c.Gateway, a, c.Subnet), StatusCode: 1}
		}
		c.Gateway = a
	}
	for _, r := range o.ipRanges {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			return req, command.StatusError{Status: fmt.Sprintf("invalid argument %q for \"--ip-range\" flag: invalid CIDR address: %s", r, r), StatusCode: 125}
		}
		c, err := find(p.Addr(), "range")
		if err != nil {
			return req, err
		}
		c.IPRange = p
	}
	if len(cfgs) > 0 || o.ipamDriver != "default" || len(ipamOpts) > 0 {
		req.IPAM = &network.IPAM{Driver: o.ipamDriver, Config: cfgs, Options: ipamOpts}
	}
	return req, nil
}

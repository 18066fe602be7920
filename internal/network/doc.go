// Package network is berth's network manager: the network records (the
// predefined bridge, host and none, and user-defined bridge, macvlan and
// ipvlan networks), their address pools, and the endpoints that put a
// container's network namespace on them.
//
// A network is one JSON record, <root>/<id>.json, written atomically; its
// endpoints are in the record, so the IP allocations of running containers
// survive a restart of berthd (the pools are rebuilt from them). The links
// live in the kernel and outlive berthd: a restart adopts them.
//
//	network.Manager ── records, pools (ipam), endpoints
//	   ├─ bridge   netlink: bridges, veth pairs, macvlan/ipvlan links
//	   ├─ sandbox  netns files under <exec-root>/netns, a pool of ready ones; hosts/resolv.conf/hostname
//	   └─ Firewall (consumer interface, implemented by network/firewall): a network's rules
//
// It never imports the daemon: the daemon calls it with a container's ID,
// name and namespace path.
package network

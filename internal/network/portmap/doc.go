// Package portmap publishes container ports on the host (docker run -p, -P):
// it reserves host ports, installs the firewall rules through a
// firewall.Backend, and runs a userland proxy for each published port.
//
// Design: every binding holds a listening socket on HostIP:HostPort in
// berthd (a TCP listener or a UDP socket), as docker-proxy does. The socket
// is what reserves the port: another program, or a second container, cannot
// bind it while the binding exists, and a port some other program already
// holds fails the bind with the kernel's "address already in use". Traffic
// from other hosts (and from the host to its non-loopback addresses) is
// DNATed by the firewall to the container before it reaches the socket;
// traffic the firewall does not rewrite — connections to 127.0.0.1 (the nat
// OUTPUT jump skips 127.0.0.0/8, as route_localnet would otherwise be needed)
// and containers reaching a published port through a host address (hairpin;
// the DNAT rule skips the bridge itself) — arrives at the socket, and the
// proxy relays it to ContainerIP:ContainerPort. Choosing a proxy over
// route_localnet keeps the bridge's sysctls untouched and gives one code path
// that holds the port and serves loopback.
//
// Host ports: an explicit port is taken as given; a range ("8000-8010")
// takes its first port that is free; 0 takes an ephemeral port from
// /proc/sys/net/ipv4/ip_local_port_range, as docker does for -P and for
// "-p 80". Conflicts with berth's own bindings give docker's
// "Bind for 0.0.0.0:8080 failed: port is already allocated"
// (errdefs.ErrConflict); a port held by another program gives the kernel's
// error ("listen tcp4 0.0.0.0:8080: bind: address already in use",
// errdefs.ErrConflict too). The caller prefixes docker's "driver failed
// programming external connectivity on endpoint NAME (ID): ".
//
// State lives in memory only. After a berthd restart the daemon calls Map
// again with the host ports it recorded; the firewall rules are idempotent.
//
// portmap imports internal/network/firewall and internal/errdefs only.
package portmap

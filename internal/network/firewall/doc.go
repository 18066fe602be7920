// Package firewall programs berth's packet-filter and NAT rules for bridge
// networks and published ports. Two backends sit behind one interface,
// Backend:
//
//   - "iptables" (the default) drives the iptables binary through
//     github.com/coreos/go-iptables (and the iptables-restore of the same
//     flavour to apply a port's rules in one run), so it works both with
//     iptables-legacy and with iptables-nft (Debian 12's default); tests run
//     both. berth's rules live in chains of its own and are hooked into the
//     built-in chains by single jump rules:
//
//     filter FORWARD      -j BERTH-FORWARD          (inserted at position 1)
//     filter BERTH-FORWARD: -j BERTH-USER, -j BERTH-ISOLATION-STAGE-1, then per
//     bridge: established → bridge ACCEPT, → bridge -j BERTH (published
//     ports), anything else → bridge from elsewhere DROP (as docker 28:
//     containers are reached from outside only through published ports,
//     whatever FORWARD's policy), bridge → out ACCEPT, bridge → same bridge
//     ACCEPT or DROP (ICC)
//     filter BERTH-ISOLATION-STAGE-1/2: traffic from one berth bridge to
//     another is dropped, except connections DNATed to a published port (a
//     published port is reachable through a host address from every
//     network, as from outside); --internal bridges drop everything that
//     leaves or enters the subnet
//     filter BERTH: ACCEPT to each published container IP:port (a port
//     published on a loopback address gets no rule at all: only the host
//     reaches it, through the userland proxy)
//     nat PREROUTING      -m addrtype --dst-type LOCAL -j BERTH
//     nat OUTPUT          ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j BERTH
//     nat BERTH: DNAT per published port
//     nat POSTROUTING     -j BERTH-POSTROUTING
//     nat BERTH-POSTROUTING: MASQUERADE per subnet (! -o bridge) and per
//     published port for hairpin (-s CIP -d CIP --dport CP)
//
//     The jump in FORWARD comes first, so that a FORWARD policy of DROP set by
//     another engine on the same host (Docker sets one) does not drop bridged
//     traffic: berth's ACCEPTs are decided before the policy applies, and
//     traffic that is not berth's returns to FORWARD untouched.
//
//   - "nftables" (opt-in) drives netlink through github.com/google/nftables and
//     keeps everything in a table of its own, "inet berth" (Options.Table), with
//     base chains on the forward, prerouting, output and postrouting hooks that
//     do the same job as the iptables layout. Removing the table removes every
//     rule. Note that an accept verdict in one table cannot override a drop in
//     another table's base chain on the same hook: every base chain sees the
//     packet, and a drop anywhere is final. On a host where another engine set
//     FORWARD's policy to DROP through iptables, bridged traffic is dropped
//     there whatever berth's table says, so iptables is the backend that works
//     on such hosts (DESIGN §4).
//
// Addresses are IPv4: published ports, masquerade and the subnet checks of
// --internal are IPv4 only. The interface rules — isolation between
// bridges, ICC, the inbound drop, and an --internal bridge's drops (by
// interface) — apply to IPv6 as well: the nftables table is of family inet,
// and the iptables backend installs them with the ip6tables of the same
// flavour (filter table only) where there is one.
//
// A network with ICC off turns on net.bridge.bridge-nf-call-iptables (as
// dockerd does): without it, packets between two ports of one bridge never
// reach the forward hook, in either backend.
//
// Both backends coexist with other engines: they never modify or delete a
// rule or chain berth did not create, they remove exactly what they added,
// and Close removes the base chains, jumps (or the table) once nothing of
// berth's is left in them. Adding is idempotent, so that after a berthd
// restart the daemon can add its networks and ports again over the rules the
// previous run left.
//
// Kernel code is in _linux.go files; elsewhere New reports the backends as
// not implemented. The package imports nothing of berth but internal/errdefs.
package firewall

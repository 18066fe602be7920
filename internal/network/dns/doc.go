// Package dns is berth's embedded DNS server, Docker's 127.0.0.11: one
// Server per container sandbox on a user-defined network, answering on
// 127.0.0.11:53 (UDP and TCP) inside the container's network namespace.
//
// It answers A queries for the names the daemon's Resolver knows (container
// names, network aliases, 12-character ID prefixes, as seen from the networks
// the asking container shares), AAAA for those names with their IPv6
// addresses (an empty NOERROR answer when they have none), PTR for their
// addresses (in-addr.arpa and ip6.arpa), other types of those names with an
// empty NOERROR answer, all with Docker's TTL of 600 s. Names are case-insensitive and a trailing dot is optional.
// Everything else is forwarded to the upstream servers the container was
// given, over UDP with a retry over TCP when the answer is truncated (over
// TCP directly when the query came over TCP); when no upstream answers, the
// reply is SERVFAIL.
//
// The sockets listen on ports the kernel picks, and a table of berth's in
// the container's namespace ("ip berth-dns", nftables) DNATs 127.0.0.11:53
// to them, as dockerd does with iptables, so that port 53 stays free for
// the container's own programs; without nf_tables the sockets take port 53
// themselves.
//
// The listening sockets are made inside the container's namespace: a
// goroutine locks its OS thread, joins the namespace (setns), creates them
// and returns to the host's namespace; a socket stays in the namespace it was
// made in whatever thread later uses it. Forwarding sockets are made by
// ordinary goroutines, in the host's namespace, so that an upstream on the
// host's loopback works. Serve brings the namespace's lo up if it is down
// (127.0.0.11 is on lo).
//
// The wire format is github.com/miekg/dns's; the table is made through
// github.com/google/nftables. The package imports nothing of berth but
// internal/errdefs.
package dns

// Package ipam hands out IPv4 addresses inside one network's subnet: the
// gateway and the network and broadcast addresses are never given, an
// explicit address must lie inside the subnet (and the ip-range when one is
// set) and be free, otherwise the lowest free address of the range is taken.
//
// A Pool holds no state of its own on disk: the network manager rebuilds it
// from the endpoints it persists, which is how allocations survive a restart
// of berthd. It imports nothing of berth's but errdefs.
package ipam

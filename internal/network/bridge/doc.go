// Package bridge puts containers on host networks through netlink: the
// Linux bridge of a bridge network with a veth pair per endpoint (host side
// enslaved to the bridge, peer inside the container's namespace), and the
// macvlan and ipvlan sub-interfaces of a parent link. Every link is created
// directly in its target namespace, so no thread ever switches namespace.
//
// It imports nothing of berth's; errors are plain and wrapped by the
// network manager.
package bridge

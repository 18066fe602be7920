// Package netns runs code inside another network namespace: on an OS thread
// that joins it for the call and leaves it afterwards. The firewall (the
// iptables binary inherits the thread's namespace) and the embedded DNS (its
// listening sockets are made there) use it.
//
// It imports nothing of berth's. vishvananda/netns sets a thread's namespace
// too, but leaves the caller to lock the thread and to discard it when the
// way back fails; Do does both.
package netns

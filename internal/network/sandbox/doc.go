// Package sandbox makes a container's network namespace and the three files
// that describe its network to the processes inside: /etc/hosts,
// /etc/resolv.conf and /etc/hostname, written as dockerd writes them.
//
// A namespace is created by a thread that unshares CLONE_NEWNET, brings lo
// up, and bind-mounts its /proc/thread-self/ns/net onto a file under
// <exec-root>/netns (the sandbox key); the thread then exits, so the calling
// goroutine's namespace never changes. Creating one costs ≈ 10 ms on this
// kind of VM (the kernel's netns setup and the RCU grace period of the
// mount), so a Pool keeps a few ready and refills in the background.
//
// It imports nothing of berth's but errdefs.
package sandbox

// Package mount describes filesystem mounts (what a snapshotter returns) and
// performs them on Linux. It imports nothing of berth's.
package mount

// Package snapshot defines Snapshotter, the seam between images and the
// filesystems containers run on: committed snapshots are unpacked layers keyed
// by chain ID, active snapshots are writable layers on top of them, views are
// read-only. Implementations live in overlay (the default) and vfs (plain
// copies); testsuite holds the conformance tests both run; storage keeps
// their metadata in bbolt.
//
// It imports internal/mount only. Error classes are local sentinels until
// internal/errdefs exists.
package snapshot

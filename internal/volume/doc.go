// Package volume is the "local" volume driver's store: one directory per
// volume under <data-root>/volumes, its data in <name>/_data and its
// metadata in <name>/meta.json (written with internal/atomicfile, so a
// crash leaves the old or the new record, never half of one). It counts
// the containers that use each volume and the ones that have it mounted, so
// that a volume made from options (type=tmpfs, device=...) is mounted at its
// first use and unmounted after its last.
//
// It is a mechanism: it imports leaves (errdefs, atomicfile) and
// internal/mount, never the daemon, the container records or the server.
// Events are the caller's: the store does not know who uses a volume.
package volume

// Package archive applies layer tars to directories.
//
// Apply is written against the standard library's os.Root rather than
// moby/go-archive's UnpackLayer: go-archive relies on running inside a chroot
// (its chrootarchive) to contain symlinked parents, and silently confines
// hostile entries instead of rejecting them. Here an entry's parent directories
// are resolved like the container will see them (filepath-securejoin: a
// symlink, even an absolute one, stays inside the root), and every operation
// then goes through os.Root, so nothing can lead outside the layer root; names
// that are absolute or hold "..", hard links out of the root and forbidden
// devices fail the whole apply with ErrUnsafe. Whiteouts follow the OCI
// image spec (".wh.<name>" deletes, ".wh..wh..opq" hides what lower layers had
// in a directory). Compression (gzip, zstd, none) is detected from the
// stream's magic bytes and decoded with klauspost/compress.
//
// It imports nothing of berth's.
package archive

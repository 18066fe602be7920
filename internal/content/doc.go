// Package content stores blobs by digest in an OCI image layout
// (<root>/oci-layout, <root>/blobs/sha256/<hex>). A blob is written to a
// temporary file under <root>/ingest, digest-checked, synced and renamed into
// place, so a crash leaves either no blob or a whole, verified one; leftovers in
// ingest are removed when the store opens.
//
// It imports nothing of berth's. Error classes are local sentinels (ErrNotFound,
// ErrInvalidArgument) until internal/errdefs exists; callers test them with
// errors.Is.
package content

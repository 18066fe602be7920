// Package image is berth's image store: image records and tags in bbolt
// (<root>/meta.db), manifests, configs and layers in the content store, and
// layers unpacked once into the snapshotter under their chain IDs. It answers
// the Engine API's image calls in docker's wire shapes (moby/moby/api
// types/image) and follows docker's rules for references (busybox →
// docker.io/library/busybox:latest) and for untag-versus-delete.
//
// It imports content, snapshot, archive and mount, never the daemon.
// The --change parser is written by hand: docker parses changes with
// buildkit's Dockerfile parser, which go.mod does not carry yet, and the nine
// instructions import accepts need only its word splitting.
package image

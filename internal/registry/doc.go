// Package registry is berth's distribution client: it speaks the Docker
// Registry HTTP API V2 (the OCI distribution spec) to fetch manifests and
// blobs and to upload them, with token and basic auth, https with a plain
// http fallback for insecure registries (127.0.0.0/8 and ::1 always, as
// dockerd, plus daemon.json's insecure-registries), and registry-mirrors
// tried before Docker Hub for pulls.
//
// It is a small client over net/http rather than go-containerregistry's
// remote package: the image store needs per-blob streams it can verify,
// tee into its content store and unpack while they arrive, per-layer
// progress, a hard cap on manifest size before any of it is parsed, and
// upload steps it can report one by one (exists, mounted, pushed); remote
// wraps all of that behind v1.Image and its own progress channel, and its
// authn package would bring the docker CLI's config code into berthd. The
// wire steps are few and documented; go-containerregistry's in-memory
// registry is what the tests run them against.
//
// It imports errdefs and the reference and digest modules; never image,
// daemon or the server.
package registry

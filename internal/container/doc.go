// Package container is berthd's record of one container: its identity
// (64-hex ID, docker-style name), the Config and HostConfig it was created
// with, and its State, with the transitions docker allows between states.
//
// It owns the on-disk form of that record (<root>/containers/<id>/config.v2.json,
// written temp+fsync+rename) and the Store that loads every record at start,
// and it renders a record in the Engine API's inspect and list shapes.
//
// It is a mechanism (depcheck rank 1): it imports only the Engine API types
// and leaves. There is no internal/errdefs yet, so the error classes live
// here (ErrNotFound, ErrConflict, ErrInvalidParameter); when errdefs lands
// they become aliases of its sentinels. It must not import daemon, server,
// image or the OCI runtime.
package container

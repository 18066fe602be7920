// Package daemon is berthd's orchestration: it owns the data and exec roots
// and implements the Backends that the API routers declare. Today that is the
// system router (/info, /version); the container, image, network and volume
// stores plug in here as they arrive, each as a field built by New.
//
// It imports errdefs, log, daemon/config and the mechanisms and subsystems
// below it; never the server or its routers.
package daemon

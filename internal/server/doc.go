// Package server serves the Docker Engine API over listeners. It owns what is
// common to every endpoint: the /v1.NN prefix and the accepted version range,
// the headers dockerd sets on every response, errors as {"message": ...} with
// the status from errdefs, 404 for unknown routes, and recovery from handler
// panics. Endpoints come from routers (internal/server/router/<resource>),
// each declaring the Backend it needs; cmd/berthd wires them to the daemon.
//
// It imports errdefs, log and server/httputil; never the daemon (routers
// reach it only through their Backend interfaces).
package server

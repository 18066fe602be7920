// Package shimapi is the versioned protocol between berthd and a berth-shim:
// message types, the on-disk layout of a shim's directory under the exec
// root, and the framing. Both sides import it; it imports nothing of ours.
//
// Written by hand (JSON lines over a unix socket, no gRPC/ttrpc) because the
// shim's memory per container is a headline number: encoding/json and net
// are already in the shim, a generated RPC stack is not.
package shimapi

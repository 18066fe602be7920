package streams

import "io"

// Conn is a hijacked client connection: output goes out on Write, input
// comes in on Read, and CloseWrite tells the client the output has ended
// while it may still be sending.
type Conn interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// AttachConfig is an attach request as the API router hands it to the
// daemon.
type AttachConfig struct {
	Stdin, Stdout, Stderr bool
	// Logs replays the stored log first; Stream follows the live output.
	Logs, Stream bool
	DetachKeys   string
	// Hijack is called once the daemon has accepted the request, with
	// whether the output is raw (a TTY) rather than multiplexed; it
	// answers the HTTP request and returns the connection.
	Hijack func(raw bool) (Conn, error)
}

// ExecStartConfig is an exec start request as the router hands it over.
type ExecStartConfig struct {
	Detach bool
	// ConsoleSize is [height, width] for a TTY, zero when unset.
	ConsoleSize [2]uint
	// Hijack as in AttachConfig; not called for a detached start.
	Hijack func(raw bool) (Conn, error)
}

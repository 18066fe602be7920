//go:build !linux

package daemon

// hangup cannot tell a client's close from its half-close here: nil, and
// a failing write ends the stream.
func hangup(conn any, stop <-chan struct{}) <-chan struct{} { return nil }

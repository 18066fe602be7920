package daemon

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// hangup returns a channel closed when the peer of conn has closed its
// socket for good, or nil when that cannot be told (not a socket). It
// is for after a clean EOF on the client's input: a half-close (`echo hi |
// docker run -i` sends its EOF and keeps reading) and a client that went
// away read alike, and without output to write (an idle shell under a
// TTY) nothing else would notice the second. A unix socket tells them
// apart: poll reports POLLHUP only once both directions are shut. (A TCP
// peer's close is a FIN like a half-close; there a failing write still
// ends the stream.) The watcher polls a duplicate of the descriptor, so
// closing conn never waits for it, and stops when stop closes.
func hangup(conn any, stop <-chan struct{}) <-chan struct{} {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	dup := -1
	if err := rc.Control(func(fd uintptr) {
		if sa, err := unix.Getsockname(int(fd)); err == nil {
			if _, ok := sa.(*unix.SockaddrUnix); ok {
				dup, _ = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
			}
		}
	}); err != nil || dup < 0 {
		return nil
	}
	ch := make(chan struct{})
	polled := make(chan struct{})
	woken := make(chan struct{})
	go func() {
		// Shutting the socket down at stop wakes the poll (our own side
		// shut in both directions is a POLLHUP too) and tells the client
		// its stream is over, which conn.Close alone would not while the
		// duplicate keeps the socket open.
		defer close(woken)
		select {
		case <-stop:
			_ = unix.Shutdown(dup, unix.SHUT_RDWR)
		case <-polled:
		}
	}()
	go func() {
		// No events asked for: poll reports POLLHUP and errors only, so
		// the readable EOF of the half-close does not wake it.
		fds := []unix.PollFd{{Fd: int32(dup)}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == nil || !errors.Is(err, unix.EINTR) {
				break
			}
		}
		close(polled)
		<-woken // the waker is done with dup: no shutdown of a reused fd
		unix.Close(dup)
		select {
		case <-stop:
		default:
			close(ch)
		}
	}()
	return ch
}

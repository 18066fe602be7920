package httputil

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/berth-engine/berth/internal/streams"
)

// Hijack returns the function the daemon calls to take over the client's
// connection for an attach or exec stream: it answers the request — 101
// UPGRADED when the client asked to upgrade to tcp, as the docker CLI
// does, else 200 — with the stream's content type, and returns the raw
// connection (reads include what net/http had buffered).
func Hijack(w http.ResponseWriter, r *http.Request) func(raw bool) (streams.Conn, error) {
	return func(raw bool) (streams.Conn, error) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return nil, err
		}
		ct := "application/vnd.docker.multiplexed-stream"
		if raw {
			ct = "application/vnd.docker.raw-stream"
		}
		head := "HTTP/1.1 200 OK\r\nContent-Type: " + ct + "\r\n\r\n"
		if r.Header.Get("Upgrade") != "" {
			head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + ct + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
		}
		if _, err := io.WriteString(conn, head); err != nil {
			conn.Close()
			return nil, err
		}
		return &hijacked{Conn: conn, r: brw.Reader}, nil
	}
}

// hijacked reads through net/http's buffer and half-closes the socket.
type hijacked struct {
	net.Conn
	r *bufio.Reader
}

func (h *hijacked) Read(p []byte) (int, error) { return h.r.Read(p) }

// SyscallConn reaches the socket, so the daemon can watch for the
// client's close after its half-close.
func (h *hijacked) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := h.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("connection has no descriptor")
}

func (h *hijacked) CloseWrite() error {
	if cw, ok := h.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("connection cannot half-close")
}

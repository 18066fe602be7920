package container

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/berth-engine/berth/internal/server/httputil"
	"github.com/berth-engine/berth/internal/streams"
)

// Websocket attach (GET /containers/{id}/attach/ws), as dockerd serves it:
// the stream is never multiplexed (each websocket message carries raw
// output, stdout and stderr alike), messages are binary from API 1.28
// (text before), and stdin/stdout/stderr are read from the query only from
// API 1.42 (before, all three are attached). Input messages are the
// container's stdin, scanned for the detach keys by the daemon as on the
// hijacked attach.

func (s *Router) wsRoutes() []httputil.Route {
	return []httputil.Route{
		{Method: http.MethodGet, Path: "/containers/{id}/attach/ws", Handler: s.attachWS},
	}
}

func (s *Router) attachWS(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	version := httputil.VersionFromContext(ctx)
	stdin, stdout, stderr := true, true, true
	if !apiBefore(version, "1.42") {
		stdin, stdout, stderr = boolValue(r, "stdin"), boolValue(r, "stdout"), boolValue(r, "stderr")
	}
	msgType := websocket.BinaryMessage
	if apiBefore(version, "1.28") {
		msgType = websocket.TextMessage
	}
	return s.backend.ContainerAttach(ctx, r.PathValue("id"), streams.AttachConfig{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Logs: boolValue(r, "logs"), Stream: boolValue(r, "stream"),
		DetachKeys: r.FormValue("detachKeys"),
		Hijack: func(raw bool) (streams.Conn, error) {
			up := websocket.Upgrader{
				// dockerd's websocket.Server has no Handshake, so it
				// accepts any Origin; browsers' pages are the users here.
				CheckOrigin: func(*http.Request) bool { return true },
			}
			ws, err := up.Upgrade(hijacker{w}, r, nil)
			if err != nil {
				// The upgrader has answered the request (400 and a reason).
				return nil, err
			}
			return &wsConn{ws: ws, msgType: msgType, framed: !raw}, nil
		},
	})
}

// apiBefore reports whether API version a ("1.NN") is older than b.
func apiBefore(a, b string) bool {
	minor := func(v string) int {
		_, m, _ := strings.Cut(v, ".")
		n, _ := strconv.Atoi(m)
		return n
	}
	return minor(a) < minor(b)
}

// hijacker gives the upgrader the Hijack it looks for on the writer; the
// server's writer reaches net/http's through http.ResponseController.
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// wsConn is a websocket seen as the daemon's streams.Conn. Without a TTY the
// daemon writes docker's frames; they are unwrapped here, one message per
// frame payload, because the websocket stream is never multiplexed.
type wsConn struct {
	ws      *websocket.Conn
	msgType int
	framed  bool

	rmu sync.Mutex
	cur io.Reader // the message being read

	wmu     sync.Mutex // one writer at a time, as gorilla requires
	pending []byte     // an incomplete frame (framed output)
	closing bool
}

// Read returns the payloads of the client's messages as one byte stream.
// A close from the client is an error, not io.EOF: a websocket cannot
// half-close, so its close means the client has gone.
func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.cur == nil {
			_, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			c.cur = r
		}
		n, err := c.cur.Read(p)
		if errors.Is(err, io.EOF) {
			c.cur = nil
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.framed {
		if err := c.ws.WriteMessage(c.msgType, p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	c.pending = append(c.pending, p...)
	for len(c.pending) >= streams.HeaderLen {
		n := int(binary.BigEndian.Uint32(c.pending[4:streams.HeaderLen]))
		if len(c.pending) < streams.HeaderLen+n {
			break
		}
		if err := c.ws.WriteMessage(c.msgType, c.pending[streams.HeaderLen:streams.HeaderLen+n]); err != nil {
			return 0, err
		}
		c.pending = c.pending[streams.HeaderLen+n:]
	}
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return len(p), nil
}

// CloseWrite ends the output with a normal close; the client's own close
// (or the connection's) ends the reads.
func (c *wsConn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing {
		return nil
	}
	c.closing = true
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	return c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// Close says goodbye with a close message (unless CloseWrite did) and
// closes the connection.
func (c *wsConn) Close() error {
	_ = c.CloseWrite()
	return c.ws.Close()
}

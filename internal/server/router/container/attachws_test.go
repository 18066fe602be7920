package container

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/server"
	"github.com/berth-engine/berth/internal/streams"
)

// attachBackend is fakeBackend with ContainerAttach answered by a func.
type attachBackend struct {
	*fakeBackend
	attach func(id string, cfg streams.AttachConfig) error
}

func (b *attachBackend) ContainerAttach(_ context.Context, id string, cfg streams.AttachConfig) error {
	return b.attach(id, cfg)
}

func wsServer(t *testing.T, attach func(id string, cfg streams.AttachConfig) error) string {
	t.Helper()
	ts := httptest.NewServer(server.New(server.Config{Version: "test"}, New(&attachBackend{&fakeBackend{}, attach})).Handler())
	t.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http")
}

func TestAttachWebsocket(t *testing.T) {
	cases := []struct {
		name       string
		path       string
		tty        bool
		wantType   int
		wantIn     [3]bool // stdin, stdout, stderr the backend is asked for
		wantOutput []string
	}{
		{"frames unwrapped", "/v1.44/containers/c1/attach/ws?stream=1&stdin=1&stdout=1", false, websocket.BinaryMessage,
			[3]bool{true, true, false}, []string{"out\n", "err\n"}},
		{"tty raw", "/containers/c1/attach/ws?stream=1&stdout=1&stderr=1", true, websocket.BinaryMessage,
			[3]bool{false, true, true}, []string{"out\n", "err\n"}},
		{"before 1.42 all streams", "/v1.41/containers/c1/attach/ws?stream=1", false, websocket.BinaryMessage,
			[3]bool{true, true, true}, []string{"out\n", "err\n"}},
		{"before 1.28 text", "/v1.27/containers/c1/attach/ws?stream=1", false, websocket.TextMessage,
			[3]bool{true, true, true}, []string{"out\n", "err\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gotIn := make(chan string, 1)
			var got streams.AttachConfig
			url := wsServer(t, func(id string, cfg streams.AttachConfig) error {
				got = cfg
				if id != "c1" || !cfg.Stream || cfg.DetachKeys != "" {
					t.Errorf("attach %q %+v", id, cfg)
				}
				conn, err := cfg.Hijack(tc.tty)
				if err != nil {
					return err
				}
				defer conn.Close()
				if tc.tty {
					conn.Write([]byte("out\n"))
					conn.Write([]byte("err\n"))
				} else {
					// A frame split across writes, then two in one write.
					var two []byte
					streams.WriteFrame(writerFunc(func(p []byte) (int, error) { two = append(two, p...); return len(p), nil }), streams.Stderr, []byte("err\n"))
					var one []byte
					streams.WriteFrame(writerFunc(func(p []byte) (int, error) { one = append(one, p...); return len(p), nil }), streams.Stdout, []byte("out\n"))
					conn.Write(one[:3])
					conn.Write(append(one[3:], two...))
				}
				buf := make([]byte, 64)
				n, _ := io.ReadAtLeast(conn, buf, 5)
				gotIn <- string(buf[:n])
				conn.CloseWrite()
				// The client answers the close: reads end with an error.
				if _, err := conn.Read(buf); err == nil {
					t.Error("read after the close: no error")
				}
				return nil
			})
			ws, resp, err := websocket.DefaultDialer.Dial(url+tc.path, nil)
			if err != nil {
				t.Fatalf("dial: %v (%v)", err, resp)
			}
			defer ws.Close()
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			for _, want := range tc.wantOutput {
				typ, p, err := ws.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				if typ != tc.wantType || string(p) != want {
					t.Errorf("message %d %q, want %d %q", typ, p, tc.wantType, want)
				}
			}
			if err := ws.WriteMessage(websocket.BinaryMessage, []byte("in")); err != nil {
				t.Fatal(err)
			}
			if err := ws.WriteMessage(websocket.TextMessage, []byte("put")); err != nil {
				t.Fatal(err)
			}
			if s := <-gotIn; s != "input" {
				t.Errorf("stdin %q, want %q", s, "input")
			}
			_, _, err = ws.ReadMessage()
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Errorf("end of stream: %v, want a normal close", err)
			}
			if in := [3]bool{got.Stdin, got.Stdout, got.Stderr}; in != tc.wantIn {
				t.Errorf("stdin/stdout/stderr %v, want %v", in, tc.wantIn)
			}
		})
	}
}

func TestAttachWebsocketRefused(t *testing.T) {
	url := wsServer(t, func(id string, cfg streams.AttachConfig) error {
		return errdefs.New(errdefs.ErrNotFound, "No such container: "+id)
	})
	_, resp, err := websocket.DefaultDialer.Dial(url+"/containers/nope/attach/ws?stream=1", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("dial: %v, %v; want a 404", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"message":"No such container: nope"`) {
		t.Errorf("body %s", body)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

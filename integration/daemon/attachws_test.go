package daemon

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Websocket attach against a real container: attached before the start
// (no output missed), stdin from messages, stdout and stderr as raw
// messages (never multiplexed), a normal close at the exit; then the
// stored log through logs=1.
func TestAttachWebsocket(t *testing.T) {
	d := containerDaemon(t)
	d.mustDocker("create", "-i", "--name", "wsc", "busybox", "sh", "-c", "read line; echo got $line; echo oops >&2")
	ws := d.dialWS(t, "/containers/wsc/attach/ws?stream=1&stdin=1&stdout=1&stderr=1")
	defer ws.Close()
	d.mustDocker("start", "wsc")
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []string
	for {
		typ, p, err := ws.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("end of the stream: %v (after %q)", err, got)
			}
			break
		}
		if typ != websocket.BinaryMessage {
			t.Errorf("message type %d, want binary", typ)
		}
		got = append(got, string(p))
	}
	sort.Strings(got)
	if strings.Join(got, "") != "got hello\noops\n" {
		t.Fatalf("messages %q", got)
	}
	if code := d.mustDocker("inspect", "-f", "{{.State.ExitCode}}", "wsc"); code != "0" {
		t.Fatalf("exit code %s", code)
	}

	// logs=1 on the stopped container replays what it wrote, then closes.
	ws2 := d.dialWS(t, "/v1.41/containers/wsc/attach/ws?logs=1&stream=0")
	defer ws2.Close()
	ws2.SetReadDeadline(time.Now().Add(10 * time.Second))
	var logs string
	for {
		_, p, err := ws2.ReadMessage()
		if err != nil {
			break
		}
		logs += string(p)
	}
	if !strings.Contains(logs, "got hello\n") || !strings.Contains(logs, "oops\n") {
		t.Fatalf("logs=1 replayed %q", logs)
	}

	// An unknown container is an ordinary 404 before any upgrade.
	resp, body := d.do("GET", "/containers/nope/attach/ws?stream=1")
	if resp.StatusCode != 404 || !strings.Contains(string(body), "No such container: nope") {
		t.Fatalf("unknown container: %d %s", resp.StatusCode, body)
	}
	d.mustDocker("rm", "-f", "wsc")
}

package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/command"
)

// errDetached ends a session the user left with the detach keys; docker
// calls it an escape sequence (and `attach` prints exactly this).
var errDetached = errors.New("read escape sequence")

// defaultDetachKeys is ctrl-p ctrl-q.
var defaultDetachKeys = []byte{16, 17}

// ioSession is the client side of a hijacked attach or exec stream.
//
// Output is the raw stream with a TTY and docker's 8-byte multiplexed
// frames (stream, 0, 0, 0, big-endian length) without. Stdin, when
// attached, is copied until EOF and then the write side of the connection
// is closed, which the daemon passes on as the process's stdin EOF. With a
// TTY the client's terminal is raw and the detach keys are watched for
// here; without one the daemon watches for them.
type ioSession struct {
	in         io.Reader // nil: stdin not attached
	out, errw  io.Writer
	tty        bool
	detachKeys string
}

func newIOSession(cli *command.Cli, stdin, tty bool, detachKeys string) ioSession {
	s := ioSession{out: cli.Out(), errw: cli.Err(), tty: tty, detachKeys: detachKeys}
	if stdin {
		s.in = cli.Stdin()
	}
	return s
}

// stream copies until the output ends (or, with no output, stdin does),
// the user detaches (errDetached) or ctx ends.
func (s ioSession) stream(ctx context.Context, resp client.HijackedResponse) error {
	restore := func() {}
	in := s.in
	if in != nil && s.tty {
		var err error
		if restore, err = rawInput(in); err != nil {
			return err
		}
		defer restore()
		keys, err := parseDetachKeys(s.detachKeys)
		if err != nil {
			keys = defaultDetachKeys
		}
		in = &escapeProxy{r: in, keys: keys}
	}

	outputDone := make(chan error, 1)
	go func() {
		var err error
		if s.tty {
			_, err = io.Copy(s.out, resp.Reader)
			// Back to a cooked terminal before anything else is printed.
			restore()
		} else {
			_, err = stdcopy.StdCopy(s.out, s.errw, resp.Reader)
		}
		outputDone <- err
	}()

	inputDone := make(chan error, 1)
	if in != nil {
		go func() {
			_, err := io.Copy(resp.Conn, in)
			if errors.Is(err, errDetached) {
				inputDone <- err
				return
			}
			_ = resp.CloseWrite()
			inputDone <- nil
		}()
	}

	select {
	case err := <-outputDone:
		return err
	case err := <-inputDone:
		if err != nil {
			return err
		}
		select {
		case err := <-outputDone:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// escapeProxy passes input through, holding back a prefix of the detach
// keys until it either completes (the read fails with errDetached) or
// stops matching (the held bytes are passed on).
type escapeProxy struct {
	r       io.Reader
	keys    []byte
	matched int
	pending []byte
	done    bool
}

func (p *escapeProxy) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	if p.done {
		return 0, errDetached
	}
	buf := make([]byte, len(b))
	n, err := p.r.Read(buf)
	var out []byte
	for _, c := range buf[:n] {
		if c == p.keys[p.matched] {
			p.matched++
			if p.matched == len(p.keys) {
				p.done = true
				break
			}
			continue
		}
		out = append(out, p.keys[:p.matched]...)
		p.matched = 0
		if c == p.keys[0] {
			p.matched = 1
			if len(p.keys) == 1 {
				p.done = true
				break
			}
			continue
		}
		out = append(out, c)
	}
	if p.done {
		err = nil
	} else if err != nil && p.matched > 0 {
		// Input ended inside a partial sequence: it was data after all.
		out = append(out, p.keys[:p.matched]...)
		p.matched = 0
	}
	m := copy(b, out)
	p.pending = out[m:]
	if m == 0 && p.done {
		return 0, errDetached
	}
	if len(p.pending) > 0 {
		return m, nil
	}
	return m, err
}

// parseDetachKeys reads docker's --detach-keys: comma-separated keys, each
// a single character or ctrl-<letter|@|[|\|]|^|_>.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return defaultDetachKeys, nil
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		if len(k) == 1 {
			keys = append(keys, k[0])
			continue
		}
		name, ok := strings.CutPrefix(strings.ToLower(k), "ctrl-")
		if !ok || len(name) != 1 {
			return nil, fmt.Errorf("Unknown character: '%s'", k)
		}
		switch c := name[0]; {
		case c >= 'a' && c <= 'z':
			keys = append(keys, c-'a'+1)
		case c == '@':
			keys = append(keys, 0)
		case c >= '[' && c <= '_':
			keys = append(keys, c-'['+27)
		default:
			return nil, fmt.Errorf("Unknown character: '%s'", k)
		}
	}
	return keys, nil
}

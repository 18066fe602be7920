package streams

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultDetachKeys is docker's ctrl-p,ctrl-q.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// ErrDetached is returned by a DetachReader once the client typed the
// detach sequence.
var ErrDetached = errors.New("detached from the container")

// ParseDetachKeys reads docker's detach-keys syntax: comma-separated keys,
// each a single character or "ctrl-<x>" with x one of a-z, @, [, \, ], ^, _.
// An empty string gives the default.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = DefaultDetachKeys
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		if c, ok := strings.CutPrefix(k, "ctrl-"); ok {
			if len(c) != 1 {
				return nil, fmt.Errorf("Unknown character: '%s'", k)
			}
			switch b := c[0]; {
			case b >= 'a' && b <= 'z':
				keys = append(keys, b-'a'+1)
			case b == '@':
				keys = append(keys, 0)
			case b >= '[' && b <= '_':
				keys = append(keys, b-'['+27)
			default:
				return nil, fmt.Errorf("Unknown character: '%s'", k)
			}
			continue
		}
		if len(k) != 1 {
			return nil, fmt.Errorf("Unknown character: '%s'", k)
		}
		keys = append(keys, k[0])
	}
	return keys, nil
}

// DetachReader passes r through until the detach sequence appears, then
// returns ErrDetached. Bytes of a partial sequence are held back and
// released when the sequence breaks off, as a terminal user expects.
type DetachReader struct {
	r       io.Reader
	keys    []byte
	matched int    // how many bytes of keys the input has matched so far
	pending []byte // bytes to deliver before reading more
	detach  bool   // the sequence was seen: detach once pending is out
	buf     []byte
}

// NewDetachReader watches r for keys; with no keys it never detaches.
func NewDetachReader(r io.Reader, keys []byte) *DetachReader {
	return &DetachReader{r: r, keys: keys, buf: make([]byte, 32*1024)}
}

// Read implements io.Reader.
func (d *DetachReader) Read(p []byte) (int, error) {
	for {
		if len(d.pending) > 0 {
			n := copy(p, d.pending)
			d.pending = d.pending[n:]
			return n, nil
		}
		if d.detach {
			return 0, ErrDetached
		}
		n, err := d.r.Read(d.buf)
		if n > 0 {
			out, detached := d.scan(d.buf[:n])
			d.pending, d.detach = out, detached
			if detached {
				continue
			}
			if len(out) > 0 {
				continue
			}
		}
		if err != nil {
			if d.matched > 0 && errors.Is(err, io.EOF) {
				// A half-typed sequence at the end is just input.
				d.pending = append([]byte(nil), d.keys[:d.matched]...)
				d.matched = 0
				continue
			}
			return 0, err
		}
	}
}

// scan filters in, returning what can be delivered now.
func (d *DetachReader) scan(in []byte) ([]byte, bool) {
	if len(d.keys) == 0 {
		return in, false
	}
	out := make([]byte, 0, len(in))
	for _, b := range in {
		if b == d.keys[d.matched] {
			d.matched++
			if d.matched == len(d.keys) {
				return out, true
			}
			continue
		}
		if d.matched > 0 {
			out = append(out, d.keys[:d.matched]...)
			d.matched = 0
			if b == d.keys[0] {
				d.matched = 1
				continue
			}
		}
		out = append(out, b)
	}
	return out, false
}

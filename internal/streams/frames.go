package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Stream numbers of docker's multiplexed framing.
const (
	Stdin  byte = 0
	Stdout byte = 1
	Stderr byte = 2
	// Systemerr carries an error message the daemon sends after the
	// output (API ≥ 1.42 clients print it).
	Systemerr byte = 3
)

// HeaderLen is the size of a frame header: stream, three zero bytes and the
// payload length as a big-endian uint32.
const HeaderLen = 8

// maxFrame bounds one frame's payload when reading frames from a peer we
// trust less than ourselves; writers never come near it.
const maxFrame = 1 << 24

// ErrFrameTooLarge is returned for a frame above 16 MiB.
var ErrFrameTooLarge = errors.New("streams: frame too large")

// WriteFrame writes p as one frame of stream s.
func WriteFrame(w io.Writer, s byte, p []byte) error {
	var h [HeaderLen]byte
	h[0] = s
	binary.BigEndian.PutUint32(h[4:], uint32(len(p)))
	if _, err := w.Write(append(h[:], p...)); err != nil {
		return err
	}
	return nil
}

// Frame is one decoded frame. Payload is valid until the next ReadFrame.
type Frame struct {
	Stream  byte
	Payload []byte
}

// FrameReader decodes frames from r.
type FrameReader struct {
	r   io.Reader
	buf []byte
}

// NewFrameReader reads frames from r.
func NewFrameReader(r io.Reader) *FrameReader { return &FrameReader{r: r} }

// ReadFrame returns the next frame; io.EOF at a clean end between frames,
// io.ErrUnexpectedEOF inside one.
func (fr *FrameReader) ReadFrame() (Frame, error) {
	var h [HeaderLen]byte
	if _, err := io.ReadFull(fr.r, h[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(h[4:])
	if n > maxFrame {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	p := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return Frame{Stream: h[0], Payload: p}, nil
}

// Copy reads frames from src and writes them to dst: whole frames when
// raw is false, payloads only when raw is true (a TTY stream has no
// framing on the wire). Frames of streams not in keep are dropped. It
// returns at src's end (nil for a clean EOF) or the first write error.
func Copy(dst io.Writer, src io.Reader, raw bool, keep func(stream byte) bool) error {
	fr := NewFrameReader(src)
	var out []byte
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if keep != nil && !keep(f.Stream) {
			continue
		}
		if raw {
			out = f.Payload
		} else {
			out = out[:0]
			out = append(out, f.Stream, 0, 0, 0, 0, 0, 0, 0)
			binary.BigEndian.PutUint32(out[4:], uint32(len(f.Payload)))
			out = append(out, f.Payload...)
		}
		if _, err := dst.Write(out); err != nil {
			return err
		}
	}
}

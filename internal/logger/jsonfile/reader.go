package jsonfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/berth-engine/berth/internal/logger"
)

// pollInterval is how often a follow looks for new lines and rotation.
const pollInterval = 50 * time.Millisecond

// Reader reads the files a Logger writes; it may run in another process
// than the writer.
type Reader struct {
	path    string
	maxFile int
}

// NewReader reads the log at path, written with up to maxFile files.
func NewReader(path string, maxFile int) *Reader {
	if maxFile < 1 {
		maxFile = 1
	}
	return &Reader{path: path, maxFile: maxFile}
}

// errStop ends a read early (Until reached) without an error.
var errStop = errors.New("stop")

// ReadLogs implements logger.Reader.
func (r *Reader) ReadLogs(ctx context.Context, cfg logger.ReadConfig, fn func(*logger.Message) error) error {
	var tail []*logger.Message
	emit := func(m *logger.Message) error {
		if !cfg.Since.IsZero() && m.Timestamp.Before(cfg.Since) {
			return nil
		}
		if !cfg.Until.IsZero() && !m.Timestamp.Before(cfg.Until) {
			return errStop
		}
		if cfg.Tail >= 0 {
			if cfg.Tail == 0 {
				return nil
			}
			if len(tail) == cfg.Tail {
				tail = tail[1:]
			}
			tail = append(tail, m)
			return nil
		}
		return fn(m)
	}
	// Rotated files, oldest first, read whole.
	for i := r.maxFile - 1; i >= 1; i-- {
		f, err := os.Open(rotated(r.path, i))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		_, err = newFileReader(f).readAvailable(emit)
		f.Close()
		if errors.Is(err, errStop) {
			return r.flushTail(tail, fn)
		}
		if err != nil {
			return err
		}
	}
	cur, err := os.Open(r.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !cfg.Follow {
			return r.flushTail(tail, fn)
		}
		return err
	}
	fr := newFileReader(cur)
	defer func() { fr.f.Close() }()
	if _, err := fr.readAvailable(emit); err != nil {
		if errors.Is(err, errStop) {
			return r.flushTail(tail, fn)
		}
		return err
	}
	if err := r.flushTail(tail, fn); err != nil {
		return err
	}
	if !cfg.Follow {
		return nil
	}
	cfg.Tail = -1
	emit2 := func(m *logger.Message) error {
		if !cfg.Until.IsZero() && !m.Timestamp.Before(cfg.Until) {
			return errStop
		}
		if !cfg.Since.IsZero() && m.Timestamp.Before(cfg.Since) {
			return nil
		}
		return fn(m)
	}
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	finished := false
	for {
		if _, err := fr.readAvailable(emit2); err != nil {
			return stopped(err)
		}
		if moved, err := r.next(fr); err != nil {
			return err
		} else if moved != nil {
			// Drain the old file (the writer has moved on), then switch.
			if _, err := fr.readAvailable(emit2); err != nil {
				moved.Close()
				return stopped(err)
			}
			fr.f.Close()
			fr = newFileReader(moved)
			continue
		}
		if finished {
			return nil
		}
		timer.Reset(pollInterval)
		select {
		case <-ctx.Done():
			return nil
		case <-cfg.Done:
			// One more pass picks up the writer's last lines.
			finished = true
		case <-timer.C:
		}
	}
}

func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

func (r *Reader) flushTail(tail []*logger.Message, fn func(*logger.Message) error) error {
	for _, m := range tail {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// fileReader decodes complete lines from one open file, keeping an
// incomplete last line until the writer finishes it.
type fileReader struct {
	f       *os.File
	br      *bufio.Reader
	off     int64 // bytes consumed, complete lines only
	pending []byte
}

func newFileReader(f *os.File) *fileReader {
	return &fileReader{f: f, br: bufio.NewReaderSize(f, 64*1024)}
}

// readAvailable emits every complete line now in the file.
func (fr *fileReader) readAvailable(emit func(*logger.Message) error) (int, error) {
	// max-file 1 truncates in place: start over when the file shrank.
	if st, err := fr.f.Stat(); err == nil && st.Size() < fr.off+int64(len(fr.pending)) {
		if _, err := fr.f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		fr.br.Reset(fr.f)
		fr.off, fr.pending = 0, nil
	}
	n := 0
	for {
		chunk, err := fr.br.ReadSlice('\n')
		fr.pending = append(fr.pending, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		line := fr.pending
		fr.pending = nil
		fr.off += int64(len(line))
		m, derr := decode(line)
		if derr != nil {
			// A corrupt line (a crash mid-write) is skipped, as docker does.
			continue
		}
		n++
		if err := emit(m); err != nil {
			return n, err
		}
	}
}

// next returns the file written after the one fr holds, once the writer
// has rotated away from it, or nil while fr holds the live file. Several
// rotations may have happened since the last look: the successor is the
// file whose number is one below the held file's (path.1's successor is
// path); when the held file has been dropped, the oldest one left.
func (r *Reader) next(fr *fileReader) (*os.File, error) {
	held, err := fr.f.Stat()
	if err != nil {
		return nil, err
	}
	name := func(i int) string {
		if i == 0 {
			return r.path
		}
		return rotated(r.path, i)
	}
	st, err := os.Stat(r.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // mid-rotation; look again next poll
		}
		return nil, err
	}
	if os.SameFile(st, held) {
		return nil, nil
	}
	succ := -1
	for i := 1; i < r.maxFile; i++ {
		st, err := os.Stat(name(i))
		if err != nil {
			continue
		}
		if os.SameFile(st, held) {
			succ = i - 1
			break
		}
		succ = i // the oldest seen so far, in case held is gone
	}
	if succ < 0 {
		succ = 0
	}
	f, err := os.Open(name(succ))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	return f, nil
}

func decode(line []byte) (*logger.Message, error) {
	var e entry
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, fmt.Errorf("json-file: %w", err)
	}
	m := &logger.Message{Source: e.Stream, Timestamp: e.Time}
	if b := []byte(e.Log); bytes.HasSuffix(b, []byte("\n")) {
		m.Line = b[:len(b)-1]
	} else {
		m.Line, m.Partial = b, true
	}
	return m, nil
}

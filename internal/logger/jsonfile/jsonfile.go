package jsonfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	units "github.com/docker/go-units"

	"github.com/berth-engine/berth/internal/logger"
)

// Name is the driver's name in `--log-driver` and daemon.json.
const Name = "json-file"

// Options are the driver's log-opts.
type Options struct {
	MaxSize int64 // rotate once the live file reaches this many bytes; <= 0 never
	MaxFile int   // files kept, the live one included; < 1 means 1
}

// ParseOptions reads docker's log-opts for json-file: max-size (a size
// such as "10m"; "-1" for none) and max-file (default 1). Unknown keys are
// an error, as in docker.
func ParseOptions(opts map[string]string) (Options, error) {
	o := Options{MaxSize: -1, MaxFile: 1}
	for k, v := range opts {
		switch k {
		case "max-size":
			if v == "-1" {
				continue
			}
			n, err := units.RAMInBytes(v)
			if err != nil {
				return o, fmt.Errorf("json-file: max-size %q: %w", v, err)
			}
			if n <= 0 {
				return o, fmt.Errorf("json-file: max-size %q must be positive", v)
			}
			o.MaxSize = n
		case "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return o, fmt.Errorf("json-file: max-file %q must be a positive integer", v)
			}
			o.MaxFile = n
		default:
			return o, fmt.Errorf("json-file: unknown log opt %q", k)
		}
	}
	if o.MaxFile > 1 && o.MaxSize <= 0 {
		return o, errors.New("json-file: max-file needs max-size")
	}
	return o, nil
}

// entry is one line of the file, fields in docker's order.
type entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// Logger writes one container's log file. It is safe for concurrent use.
type Logger struct {
	path string
	opts Options

	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
	buf    bytes.Buffer
}

// New opens (appending to) or creates the log file at path.
func New(path string, opts Options) (*Logger, error) {
	if opts.MaxFile < 1 {
		opts.MaxFile = 1
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("json-file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("json-file: %w", err)
	}
	return &Logger{path: path, opts: opts, f: f, size: st.Size()}, nil
}

// Log appends msg as one line. A message that is not Partial gets its
// newline back inside the "log" string, as docker writes it.
func (l *Logger) Log(msg *logger.Message) error {
	e := entry{Log: string(msg.Line), Stream: msg.Source, Time: msg.Timestamp.UTC()}
	if !msg.Partial {
		e.Log += "\n"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return logger.ErrClosed
	}
	l.buf.Reset()
	// Encode appends the line's newline; it escapes <, > and & as docker's
	// encoder does.
	if err := json.NewEncoder(&l.buf).Encode(&e); err != nil {
		return fmt.Errorf("json-file: %w", err)
	}
	// docker checks the capacity before each write, so a file may exceed
	// max-size by one entry.
	if l.opts.MaxSize > 0 && l.size >= l.opts.MaxSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(l.buf.Bytes())
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("json-file: %w", err)
	}
	return nil
}

// rotate shifts path.(i) to path.(i+1), dropping the oldest, and starts an
// empty live file. With max-file 1 the live file is truncated instead.
func (l *Logger) rotate() error {
	if l.opts.MaxFile < 2 {
		if err := l.f.Truncate(0); err != nil {
			return fmt.Errorf("json-file: rotate: %w", err)
		}
		l.size = 0
		return nil
	}
	for i := l.opts.MaxFile - 1; i > 1; i-- {
		err := os.Rename(rotated(l.path, i-1), rotated(l.path, i))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("json-file: rotate: %w", err)
		}
	}
	if err := os.Rename(l.path, rotated(l.path, 1)); err != nil {
		return fmt.Errorf("json-file: rotate: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("json-file: rotate: %w", err)
	}
	l.f.Close()
	l.f, l.size = f, 0
	return nil
}

func rotated(path string, i int) string { return path + "." + strconv.Itoa(i) }

// Close closes the file; later Logs return logger.ErrClosed.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}

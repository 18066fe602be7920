package logger

import (
	"bufio"
	"context"
	"errors"
	"io"
	"time"
)

// Stream names as docker writes them.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// MaxLineSize is the longest message Copy emits; a longer line is split into
// partial messages (docker's copier uses the same 16 KiB).
const MaxLineSize = 16 * 1024

// ErrClosed is returned by Log after Close.
var ErrClosed = errors.New("logger is closed")

// Message is one line of a container's output.
type Message struct {
	Line      []byte    // without the trailing newline
	Source    string    // Stdout or Stderr
	Timestamp time.Time // when the shim read it
	Partial   bool      // the line continues in the next message (no newline yet)
}

// Logger receives a container's output. Log may be called from several
// goroutines (stdout and stderr copiers); it must not keep msg after it
// returns. After Close, Log returns ErrClosed.
type Logger interface {
	Log(msg *Message) error
	Close() error
}

// ReadConfig selects the messages of a read, as `docker logs` does.
type ReadConfig struct {
	Since  time.Time // only messages at or after Since (zero: from the start)
	Until  time.Time // only messages before Until (zero: no end)
	Tail   int       // only the last Tail messages that match; < 0 means all
	Follow bool      // after the existing messages, wait for new ones
	// Done, when closed, ends a follow: the writer has finished (the shim
	// records an exit only after the output is in the log), so the reader
	// takes what the file holds now and returns nil.
	Done <-chan struct{}
}

// Reader serves stored logs. ReadLogs calls fn for each selected message in
// order and returns when they are all read, or — with Follow — when ctx is
// done (returning nil) or a message at or after Until arrives. An error from fn stops the
// read and is returned.
type Reader interface {
	ReadLogs(ctx context.Context, cfg ReadConfig, fn func(*Message) error) error
}

// Copy reads src until EOF and logs each line as a message from source,
// stamped with the time it was read. A line longer than MaxLineSize, or a
// final line without a newline, goes out as partial messages. Log errors do
// not stop the copy: the container's pipe must keep draining or it would
// block on write.
func Copy(src io.Reader, source string, l Logger) error {
	br := bufio.NewReaderSize(src, MaxLineSize)
	var firstErr error
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			msg := Message{Source: source, Timestamp: time.Now().UTC()}
			if line[len(line)-1] == '\n' {
				msg.Line = line[:len(line)-1]
			} else {
				msg.Line, msg.Partial = line, true
			}
			if lerr := l.Log(&msg); lerr != nil && firstErr == nil {
				firstErr = lerr
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return firstErr
		default:
			if firstErr == nil {
				firstErr = err
			}
			return firstErr
		}
	}
}

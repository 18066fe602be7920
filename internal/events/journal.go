package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"

	"github.com/moby/moby/api/types/events"

	"github.com/berth-engine/berth/internal/atomicfile"
)

// journal keeps the ring on disk as JSON lines, so that a restarted
// daemon still replays recent events for since. Events are appended as
// they are published; once the file holds twice the ring's size it is
// rewritten (atomically) with the ring alone. A torn last line (a crash in
// the middle of an append) is skipped when the file is read.
type journal struct {
	path  string
	f     *os.File
	lines int
}

// Open returns a Log like New whose ring is kept in the journal file at
// path: the events it holds are loaded into the ring, and every event
// published is appended. If the journal cannot be written later, the Log
// goes on in memory alone.
func Open(path string, size int) (*Log, error) {
	l := New(size)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var m events.Message
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.TimeNano == 0 {
			continue
		}
		if len(l.ring) == l.size {
			l.ring = l.ring[1:]
		}
		l.ring = append(l.ring, m)
	}
	j := &journal{path: path}
	if err := j.rewrite(l.ring); err != nil {
		return nil, err
	}
	l.journal = j
	return l, nil
}

// append writes m as one line; the caller holds the Log's lock.
func (j *journal) append(m events.Message, ring []events.Message, size int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return err
	}
	j.lines++
	if j.lines >= 2*size {
		return j.rewrite(ring)
	}
	return nil
}

// rewrite replaces the file with the ring's events and reopens it for
// appending.
func (j *journal) rewrite(ring []events.Message) error {
	var buf bytes.Buffer
	for _, m := range ring {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
	}
	if err := atomicfile.WriteFile(j.path, buf.Bytes(), 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.lines = f, len(ring)
	return nil
}

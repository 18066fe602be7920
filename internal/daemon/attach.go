package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/berth-engine/berth/internal/container"
	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/logger"
	"github.com/berth-engine/berth/internal/shim"
	"github.com/berth-engine/berth/internal/streams"
)

// Attaching. The shim serves the container's live output (and takes its
// stdin) on an attach connection per client, in docker's multiplexed
// frames; the daemon relays between that connection and the client's
// hijacked HTTP connection. An attach made while the container is not
// running (`docker run` and `start -a` attach first, then start) waits
// until the next start wires it to the new shim before the process runs,
// so no output is missed.

// shimStream is the shim side of an attach or exec stream.
type shimStream interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// pendingAttach is an attach waiting for the container's next start. The
// start holds the container's lock while it delivers, and the attach may be
// waiting for that lock (its event), so delivering never blocks: ready has
// room for the one stream, and an attach that has given up closes what
// comes.
type pendingAttach struct {
	ctx   context.Context // bounds the shim stream
	opts  shim.AttachOpts
	ready chan shimStream // gets the stream, or nil when there is none

	mu   sync.Mutex
	gone bool // the attach no longer waits
}

func newPendingAttach(ctx context.Context, opts shim.AttachOpts) *pendingAttach {
	return &pendingAttach{ctx: ctx, opts: opts, ready: make(chan shimStream, 1)}
}

// deliver hands st (nil: no stream) to the waiting attach, or closes it
// when the attach has gone. It is called once.
func (p *pendingAttach) deliver(st shimStream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		if st != nil {
			st.Close()
		}
		return
	}
	p.ready <- st
}

// abandon marks the attach gone and closes a stream delivered meanwhile.
func (p *pendingAttach) abandon() {
	p.mu.Lock()
	p.gone = true
	p.mu.Unlock()
	select {
	case st := <-p.ready:
		if st != nil {
			st.Close()
		}
	default:
	}
}

// attachSet holds the attaches waiting for each container's start.
type attachSet struct {
	mu sync.Mutex
	m  map[string][]*pendingAttach
}

func (s *attachSet) add(id string, p *pendingAttach) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]*pendingAttach{}
	}
	s.m[id] = append(s.m[id], p)
}

func (s *attachSet) remove(id string, p *pendingAttach) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.m[id]
	for i, q := range list {
		if q == p {
			s.m[id] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(s.m[id]) == 0 {
		delete(s.m, id)
	}
}

func (s *attachSet) take(id string) []*pendingAttach {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.m[id]
	delete(s.m, id)
	return list
}

// wireAttaches connects the attaches waiting for id to its new shim. The
// caller holds the container's lock and has created, not started, the
// container.
func (d *Daemon) wireAttaches(ctx context.Context, id string, cl *shim.Client) {
	for _, p := range d.attaches.take(id) {
		st, err := cl.Attach(p.ctx, p.opts)
		if err != nil {
			log.G(ctx).Warn("attach to the new shim", "id", id, "err", err)
			p.deliver(nil)
			continue
		}
		p.deliver(st)
	}
}

// ContainerAttach serves an attach: the stored log first with Logs, then,
// with Stream, the live output until the process exits (and stdin, when
// asked and the container keeps it open) — or until the client types the
// detach keys or goes away.
func (d *Daemon) ContainerAttach(ctx context.Context, idOrName string, cfg streams.AttachConfig) error {
	c, err := d.getContainer(idOrName)
	if err != nil {
		return err
	}
	// Once hijacked, the request's context is no measure of the client:
	// net/http cancels it when it reads the client's half-close (`echo hi
	// | docker run -i` sends its input and EOF at once). The stream ends
	// on the connection's own errors instead.
	ctx = context.WithoutCancel(ctx)
	keys, err := streams.ParseDetachKeys(cfg.DetachKeys)
	if err != nil {
		return errdefs.New(errdefs.ErrInvalidParameter, err.Error())
	}
	c.Lock()
	st := c.State
	tty, openStdin, stdinOnce := c.Config.Tty, c.Config.OpenStdin, c.Config.StdinOnce
	id := c.ID
	c.Unlock()
	if st.Paused {
		return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("container %s is paused, unpause the container before attach", id))
	}
	if st.Restarting {
		return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("container %s is restarting, wait until the container is running", id))
	}
	stdin := cfg.Stdin && openStdin
	// As dockerd: the end of a client's stdin closes the container's only
	// with StdinOnce and no TTY (a terminal user who detaches or goes away
	// leaves the shell alive).
	opts := shim.AttachOpts{Stdin: stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr, CloseStdin: stdinOnce && !tty}

	var (
		stream  shimStream
		pending *pendingAttach
	)
	if cfg.Stream && (cfg.Stdout || cfg.Stderr || stdin) {
		// Under the container's lock: a start in progress either has
		// wired the attaches (running now) or will see this one.
		c.Lock()
		if c.State.Running {
			cl, cerr := d.shimOf(ctx, id)
			if cerr == nil {
				stream, err = cl.Attach(ctx, opts)
			} else {
				err = cerr
			}
		} else {
			pending = newPendingAttach(ctx, opts)
			d.attaches.add(id, pending)
		}
		if err == nil {
			// Published here, under the lock, so that it precedes the
			// start this attach is waiting for, as in dockerd.
			d.logContainerEventLocked(c, eventtypes.ActionAttach, nil)
		}
		c.Unlock()
		if err != nil {
			return fmt.Errorf("attaching to container %s: %w", id, err)
		}
	} else {
		d.LogContainerEvent(c, eventtypes.ActionAttach, nil)
	}
	defer func() {
		if pending != nil {
			d.attaches.remove(id, pending)
			pending.abandon()
		}
		if stream != nil {
			stream.Close()
		}
	}()

	conn, err := cfg.Hijack(tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	if cfg.Logs && (cfg.Stdout || cfg.Stderr) {
		if err := d.replayLog(ctx, c, conn, cfg.Stdout, cfg.Stderr, tty); err != nil {
			return nil // the connection is the client's now: errors only end it
		}
	}
	if !cfg.Stream || (!cfg.Stdout && !cfg.Stderr && !stdin) {
		return nil
	}
	if pending != nil {
		// Until the next start; a client that goes away ends the wait.
		stop := make(chan struct{})
		defer close(stop)
		gone := watchClosed(conn, stdin, stop)
		select {
		case s := <-pending.ready:
			if s == nil {
				return nil
			}
			stream = s
		case <-gone:
			return nil
		case <-ctx.Done():
			return nil
		}
		// watchClosed may be reading the client's stdin: with stdin the
		// relay takes over the reads, and the watcher only ever reads
		// when there is no stdin.
		if !stdin {
			relay(ctx, conn, stream, tty, false, keys, gone, nil)
			return nil
		}
	}
	relay(ctx, conn, stream, tty, stdin, keys, nil, nil)
	return nil
}

// watchClosed reads (and drops) what a client without stdin sends, to see
// it go away: the returned channel closes on a read error. A clean EOF is
// only the client's half-close (the docker CLI sends one when its own
// stdin is not a terminal), after which it still reads the output; a
// client that went away for good is then noticed when a write fails.
// With stdin the input belongs to the relay, so it returns a channel that
// never closes. After a clean EOF, hangup watches for the client's close
// until stop closes.
func watchClosed(conn io.Reader, stdin bool, stop <-chan struct{}) <-chan struct{} {
	ch := make(chan struct{})
	if stdin {
		return ch
	}
	go func() {
		if _, err := io.Copy(io.Discard, conn); err != nil {
			close(ch)
			return
		}
		if h := hangup(conn, stop); h != nil {
			select {
			case <-h:
				close(ch)
			case <-stop:
			}
		}
	}()
	return ch
}

// inputReader records a read error of the client's input, as against a
// clean EOF (a half-close) or a failing write to the shim.
type inputReader struct {
	r   io.Reader
	err error
}

func (r *inputReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// relay copies the shim's output frames to the client (raw payloads for a
// TTY) and, with stdin, the client's input to the shim, until the output
// ends (the process exited and its output is delivered), the client types
// the detach keys, or the client goes away. gone, when not nil, is a
// watcher already reading conn. ended, when not nil, runs once the output
// has ended and before the client is told.
func relay(ctx context.Context, conn streams.Conn, st shimStream, raw, stdin bool, keys []byte, gone <-chan struct{}, ended func()) {
	stop := make(chan struct{})
	defer close(stop)
	outDone := make(chan error, 1)
	go func() { outDone <- streams.Copy(conn, st, raw, nil) }()
	detached := make(chan struct{})
	if stdin {
		inGone := make(chan struct{})
		gone = inGone
		go func() {
			in := &inputReader{r: conn}
			// As dockerd: the detach keys are scanned for only under a
			// TTY; without one, stdin is data (ctrl-p ctrl-q is two bytes
			// of any binary input).
			var src io.Reader = in
			if raw {
				src = streams.NewDetachReader(in, keys)
			}
			_, err := io.Copy(st, src)
			if errors.Is(err, streams.ErrDetached) {
				close(detached)
				return
			}
			// The client closed its side of stdin: the shim closes the
			// process's stdin if StdinOnce says so.
			_ = st.CloseWrite()
			if in.err != nil {
				close(inGone) // the connection failed: the client is gone
				return
			}
			// A clean EOF is a half-close or a client gone for good; with
			// no output to write (an idle shell) only its close tells.
			if h := hangup(conn, stop); h != nil {
				select {
				case <-h:
					close(inGone)
				case <-stop:
				}
			}
		}()
	} else if gone == nil {
		gone = watchClosed(conn, false, stop)
	}
	select {
	case <-outDone:
		if ended != nil {
			ended()
		}
		// All output is out: say so to the client, which may still be
		// sending.
		_ = conn.CloseWrite()
	case <-detached:
	case <-gone:
	case <-ctx.Done():
	}
	st.Close()
	conn.Close()
}

// replayLog writes the stored log to w in the attach format.
func (d *Daemon) replayLog(ctx context.Context, c *container.Container, w io.Writer, stdout, stderr, tty bool) error {
	r, _, err := d.ContainerLogs(ctx, c.ID)
	if err != nil {
		return err
	}
	var buf []byte
	return r.ReadLogs(ctx, logger.ReadConfig{Tail: -1}, func(m *logger.Message) error {
		var s byte
		switch {
		case m.Source == logger.Stdout && stdout:
			s = streams.Stdout
		case m.Source == logger.Stderr && stderr:
			s = streams.Stderr
		default:
			return nil
		}
		buf = append(buf[:0], m.Line...)
		if !m.Partial {
			buf = append(buf, '\n')
		}
		if tty {
			_, err := w.Write(buf)
			return err
		}
		return streams.WriteFrame(w, s, buf)
	})
}

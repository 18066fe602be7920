// Package events is the engine's event log: state changes are published
// here in docker's wire shape (github.com/moby/moby/api/types/events) and
// streamed to subscribers, with filters, since and until as docker's GET
// /events applies them.
//
// The log keeps the most recent events in a bounded ring (docker keeps
// 256), from which a subscriber with a since (or until) time is replayed
// before it gets live events. Open also keeps the ring in a journal file
// (JSON lines, appended, rewritten when it reaches twice the ring), so
// that since survives a restart of the daemon (DESIGN §5).
//
// Publishing never blocks. Each subscriber has a buffered channel; a
// subscriber whose buffer is full when an event arrives is evicted: its
// channel is closed and Err reports ErrSlowSubscriber, so its stream ends
// rather than silently missing events (a client can reconnect with since
// to catch up from the ring). docker's own publisher instead waits up to
// 100 ms per subscriber and then drops the event for it.
//
// Close ends every stream at once when the daemon shuts down, so that a
// client following events does not hold the server's graceful shutdown.
//
// It imports the API's event types only; nothing of berth's.
package events

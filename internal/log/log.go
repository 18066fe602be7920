// Package log carries a *slog.Logger in a context.Context, so that request
// and container attributes travel with the call instead of living in a
// global. It is a leaf: it imports nothing of ours.
package log

import (
	"context"
	"log/slog"
)

type loggerKey struct{}

// G returns the logger carried by ctx, or slog.Default() when there is none.
func G(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// WithLogger returns a copy of ctx that carries l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// With returns a copy of ctx whose logger has the given attributes added.
func With(ctx context.Context, args ...any) context.Context {
	return WithLogger(ctx, G(ctx).With(args...))
}

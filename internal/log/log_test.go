package log

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestCarriedLogger(t *testing.T) {
	if G(context.Background()) != slog.Default() {
		t.Fatal("G without a logger must return slog.Default()")
	}
	var buf bytes.Buffer
	ctx := WithLogger(context.Background(), slog.New(slog.NewTextHandler(&buf, nil)))
	ctx = With(ctx, "container", "abc")
	G(ctx).Info("started")
	if out := buf.String(); !strings.Contains(out, "container=abc") || !strings.Contains(out, "msg=started") {
		t.Fatalf("log output %q lacks the carried attribute", out)
	}
}

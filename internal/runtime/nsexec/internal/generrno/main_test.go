package main

import (
	"bytes"
	"os"
	"testing"
)

// TestHeaderUpToDate: errtext.h is what this generator writes today, so a
// Go release that rewords an errno shows up here, not in a message.
func TestHeaderUpToDate(t *testing.T) {
	have, err := os.ReadFile("../../errtext.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, Generate()) {
		t.Fatal("errtext.h is stale: run go generate ./internal/runtime/nsexec")
	}
}

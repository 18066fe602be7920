package container

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-engine/berth/internal/runtime/nsexec"
)

// runHooks runs each hook in order with the container state on its stdin,
// as the OCI spec requires, stopping at the first failure. A hook with a
// timeout is killed when it runs over.
func runHooks(kind string, hooks []specs.Hook, st specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		if err := runHook(h, state); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", kind, i, h.Path, err)
		}
	}
	return nil
}

// runAllHooks runs every hook even when some fail (poststart, poststop:
// the spec has failures only logged) and returns the failures.
func runAllHooks(kind string, hooks []specs.Hook, st specs.State) []error {
	if len(hooks) == 0 {
		return nil
	}
	state, err := json.Marshal(st)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for i, h := range hooks {
		if err := runHook(h, state); err != nil {
			errs = append(errs, fmt.Errorf("%s hook #%d (%s): %w", kind, i, h.Path, err))
		}
	}
	return errs
}

func runHook(h specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout must be positive, got %d", *h.Timeout)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	} else {
		cmd.Args = []string{h.Path}
	}
	// Under `run`, through a step that clears the signals it blocks.
	cmd.Path, cmd.Args = nsexec.ExecUnblocked(cmd.Path, cmd.Args)
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := bytes.TrimSpace(out.Bytes()); len(msg) > 0 {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}

// RunSignals hands over, once, the signalfd `berth-runtime run` reads the
// signals it blocked before the Go runtime started from, with those
// signals (bit s-1 for signal s); nil when there is none. See
// nsexec.TakeRunSignals.
func RunSignals() (*os.File, uint64) { return nsexec.TakeRunSignals() }

package container

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Start-latency tracing: with BERTH_RUNTIME_TRACE=1 in the environment,
// each phase of create/start/delete prints its time since the parent began
// to stderr; the init reports its own phases to the parent over the init
// socket (as "trace" messages with a CLOCK_MONOTONIC time), so one timeline
// covers both processes. Off, it costs one boolean check per phase.
var (
	traceOn    = os.Getenv("BERTH_RUNTIME_TRACE") == "1"
	traceStart = monotonic()
)

func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func trace(phase string) {
	if traceOn {
		traceAt(monotonic(), phase)
	}
}

func traceAt(ns int64, phase string) {
	fmt.Fprintf(os.Stderr, "trace %8.3f ms %s\n", float64(ns-traceStart)/1e6, phase)
}

package nsexec

/*
extern int berth_prespawn_pid, berth_prespawn_sock, berth_prespawn_exe, berth_prespawn_mount;
extern int berth_run_sigfd;
extern unsigned long long berth_run_sigmask;
*/
import "C"

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Prespawned is a container init that prespawn.c started before the Go
// runtime (`run` only): it waits in its C stage for the bootstrap on Sock.
// Its init socket is fd 3 and its stdio is this process's; it has no other
// descriptor.
type Prespawned struct {
	Pid  int
	Sock *os.File // this process's end of the init socket, non-blocking (the poller waits on it)
	Exe  *os.File // the write-protected executable it runs from (O_PATH)
	// Mount is the detached overlay Exe lives in; closing it waits on
	// the kernel's RCU, so close it off the critical path.
	Mount *os.File
}

var prespawn struct {
	sync.Mutex
	done bool
}

// TakePrespawned hands over the prespawned init, once; nil when there is
// none (not `run`, or anything in prespawn.c failed) or it was taken or
// discarded already.
func TakePrespawned() *Prespawned {
	prespawn.Lock()
	defer prespawn.Unlock()
	if prespawn.done || C.berth_prespawn_pid <= 0 {
		prespawn.done = true
		return nil
	}
	prespawn.done = true
	_ = unix.SetNonblock(int(C.berth_prespawn_sock), true)
	p := &Prespawned{
		Pid:  int(C.berth_prespawn_pid),
		Sock: os.NewFile(uintptr(C.berth_prespawn_sock), "init-parent"),
		Exe:  os.NewFile(uintptr(C.berth_prespawn_exe), "berth-runtime"),
	}
	if C.berth_prespawn_mount >= 0 {
		p.Mount = os.NewFile(uintptr(C.berth_prespawn_mount), "overlay")
	}
	return p
}

// Discard ends a prespawned init that will not be used: killed first (at
// EOF on its socket it would report that on stderr), then reaped.
func (p *Prespawned) Discard() {
	_ = unix.Kill(p.Pid, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		if _, err := unix.Wait4(p.Pid, &ws, 0, nil); err != unix.EINTR {
			break
		}
	}
	p.Sock.Close()
	p.Exe.Close()
	if p.Mount != nil {
		go p.Mount.Close()
	}
}

// DiscardPrespawned discards the prespawned init if nobody took it.
func DiscardPrespawned() {
	if p := TakePrespawned(); p != nil {
		p.Discard()
	}
}

var runSignals struct {
	sync.Mutex
	taken bool
}

// RunSignalsBlocked reports whether prespawn.c blocked signals for `run`:
// its children must then not inherit the process's mask (see ExecUnblocked).
func RunSignalsBlocked() bool { return C.berth_run_sigfd >= 0 }

// TakeRunSignals hands over, once, the signalfd prespawn.c opened for `run`
// and the signals it reads (bit s-1 for signal s): those are blocked in
// every thread and wait there until read; the caller registers the others
// it wants with os/signal. nil when there is none.
func TakeRunSignals() (*os.File, uint64) {
	runSignals.Lock()
	defer runSignals.Unlock()
	if runSignals.taken || C.berth_run_sigfd < 0 {
		return nil, 0
	}
	runSignals.taken = true
	return os.NewFile(uintptr(C.berth_run_sigfd), "signalfd"), uint64(C.berth_run_sigmask)
}

// ExecUnblocked rewrites a command line (path, then argv) so that the
// process starts with no signal blocked, through this executable's
// "__berth_exec_unblocked" (prespawn.c), when RunSignalsBlocked; as is
// otherwise.
func ExecUnblocked(path string, argv []string) (string, []string) {
	if !RunSignalsBlocked() {
		return path, argv
	}
	return "/proc/self/exe", append([]string{"berth-runtime", "__berth_exec_unblocked", path}, argv...)
}

package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/runtime/cgroups"
	"github.com/berth-engine/berth/internal/runtime/nsexec"
	"github.com/berth-engine/berth/internal/runtime/rootfs"
)

func (c *Container) cgroup() (*cgroups.Manager, error) {
	if c.cg != nil {
		return c.cg, nil
	}
	if len(c.rec.Cgroup) == 0 {
		return nil, fmt.Errorf("container %s: no cgroup recorded", c.rec.ID)
	}
	var st cgroups.State
	if err := json.Unmarshal(c.rec.Cgroup, &st); err != nil {
		return nil, fmt.Errorf("container %s: corrupt cgroup state: %w", c.rec.ID, err)
	}
	cg, err := cgroups.Load(st)
	if err != nil {
		return nil, err
	}
	c.cg = cg
	return cg, nil
}

// Status derives the container's status from the running system.
func (c *Container) Status() string {
	if !c.initAlive() {
		return Stopped
	}
	if _, err := os.Lstat(filepath.Join(c.dir, fifoName)); err == nil {
		return Created
	}
	if w := c.cgroupWhere(); w != nil && c.cg == nil {
		if paused, known, err := w.Paused(); known {
			if err == nil && paused {
				return Paused
			}
			return Running
		}
	}
	if cg, err := c.cgroup(); err == nil {
		if st, err := cg.FreezerState(); err == nil && st == Paused {
			return Paused
		}
	}
	return Running
}

// cgroupWhere is where the container's cgroups are, decoded without the
// driver (see cgroups.Where); nil when the record has none readable.
func (c *Container) cgroupWhere() *cgroups.Where {
	if c.where == nil && len(c.rec.Cgroup) > 0 {
		c.where, _ = cgroups.DecodeWhere(c.rec.Cgroup)
	}
	return c.where
}

// State returns the container's state as `berth-runtime state` prints it.
func (c *Container) State() State {
	st := State{
		OCIVersion: specs.Version,
		ID:         c.rec.ID,
		Status:     c.Status(),
		Bundle:     c.rec.Bundle,
		Rootfs:     c.rec.Rootfs,
		Created:    c.rec.Created,
		Owner:      c.rec.Owner,
	}
	if st.Status != Stopped {
		st.Pid = c.rec.InitPid
	}
	if c.rec.Spec != nil {
		st.Annotations = c.rec.Spec.Annotations
	}
	return st
}

// Pid is the container init's pid on the host.
func (c *Container) Pid() int { return c.rec.InitPid }

// Spec is the container's config as it was created.
func (c *Container) Spec() *specs.Spec { return c.rec.Spec }

// Start releases a created container's init to execve the user process,
// then runs the poststart hooks.
func (c *Container) Start() error {
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return fmt.Errorf("container %s: cannot start a container that has stopped", c.rec.ID)
	default:
		return fmt.Errorf("container %s: cannot start an already %s container", c.rec.ID, st)
	}
	trace("start")
	release := c.releaseFifo
	if c.start != nil {
		release = c.releaseSocket
	}
	if err := release(); err != nil {
		return err
	}
	trace("fifo released")
	_ = os.Remove(filepath.Join(c.dir, fastStartMarker))
	if h := c.rec.Spec.Hooks; h != nil && len(h.Poststart) > 0 {
		// The spec: a failing poststart hook is logged and the others
		// still run.
		for _, err := range runAllHooks("poststart", h.Poststart, c.stateFor(Running)) {
			c.rt.warn("poststart hook failed", c.rec.ID, err)
		}
	}
	return nil
}

// releaseSocket starts an init that waits on its socket: one byte, then
// EOF when the execve closes the socket (or the init's error message).
func (c *Container) releaseSocket() error {
	p := c.start
	c.start = nil
	defer p.close()
	if _, err := p.sock.Write([]byte{nsexec.ExecStart}); err != nil {
		return fmt.Errorf("container %s: start: %w", c.rec.ID, err)
	}
	if _, err := p.recv(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("unexpected message from the init")
		}
		return fmt.Errorf("container %s: start: %w", c.rec.ID, err)
	}
	return os.Remove(filepath.Join(c.dir, fifoName))
}

// releaseFifo opens exec.fifo for reading, which unblocks the init, reads
// its byte and removes the fifo so the status becomes running. If the init
// is gone the open would never return, so its pidfd is watched meanwhile.
func (c *Container) releaseFifo() error {
	path := filepath.Join(c.dir, fifoName)
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
		// CreateOpts.StartOnSocket: the init waits on a socket that
		// only its creator holds.
		return fmt.Errorf("container %s: only the process that created it (run) can start it", c.rec.ID)
	}
	pidfd, err := unix.PidfdOpen(c.rec.InitPid, 0)
	if err != nil {
		return fmt.Errorf("container %s: init is gone: %w", c.rec.ID, err)
	}
	defer unix.Close(pidfd)
	type result struct {
		f   *os.File
		err error
	}
	opened := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
		opened <- result{f, err}
	}()
	exited := make(chan struct{})
	go func() {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, -1)
			if err == unix.EINTR {
				continue
			}
			if n > 0 || err != nil {
				close(exited)
				return
			}
		}
	}()
	finish := func(r result) error {
		if r.err != nil {
			return fmt.Errorf("open exec fifo: %w", r.err)
		}
		// One byte says the init got past the fifo; EOF follows at its
		// execve (or exit).
		data, _ := io.ReadAll(r.f)
		r.f.Close()
		if len(data) != 1 {
			return fmt.Errorf("container %s: init exited before start", c.rec.ID)
		}
		return os.Remove(path)
	}
	select {
	case r := <-opened:
		return finish(r)
	case <-exited:
	}
	// The init exited: either it passed the fifo just now (the byte is
	// waiting) or it never will. A writer of ours releases our reader in
	// the second case; ENXIO means the reader has not opened yet.
	for {
		select {
		case r := <-opened:
			return finish(r)
		default:
		}
		if w, err := os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			w.Close()
			return finish(<-opened)
		}
		time.Sleep(time.Millisecond)
	}
}

// Signal sends sig to the init, or with all to every process of the
// container's cgroup.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	status := c.Status()
	if status == Stopped {
		return fmt.Errorf("container %s: %w", c.rec.ID, ErrNotRunning)
	}
	if all {
		cg, err := c.cgroup()
		if err != nil {
			return err
		}
		return signalAll(cg, sig, status == Paused)
	}
	if err := pidfdSignal(c.rec.InitPid, sig); err != nil {
		return fmt.Errorf("container %s: signal %d: %w", c.rec.ID, sig, err)
	}
	// A stopped process does not see SIGTERM until continued; a frozen one
	// not until thawed (runc does the same for SIGKILL on a paused container).
	if status == Paused && sig == unix.SIGKILL {
		if cg, err := c.cgroup(); err == nil {
			_ = cg.Thaw()
		}
	}
	return nil
}

// pidfdSignal signals pid through a pidfd, so a pid reused after the check
// is never hit.
func pidfdSignal(pid int, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

func signalAll(cg *cgroups.Manager, sig unix.Signal, paused bool) error {
	if sig == unix.SIGKILL && !paused {
		_ = cg.Freeze()
		defer cg.Thaw()
	}
	pids, err := cg.Pids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal %d to pid %d: %w", sig, pid, err)
		}
	}
	if paused && sig == unix.SIGKILL {
		_ = cg.Thaw()
	}
	return nil
}

// Delete removes a stopped container: its cgroup, its state, then the
// poststop hooks. A created, running or paused one needs force, which kills
// every process first.
func (c *Container) Delete(force bool) error {
	trace("delete")
	defer trace("deleted")
	switch st := c.Status(); st {
	case Stopped:
	default:
		// The spec: deleting a container that is not stopped (created
		// included) is an error and changes nothing.
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", c.rec.ID, st)
		}
		c.killAndWait()
	}
	if cg, err := c.cgroup(); err == nil {
		// Processes left in a shared pid namespace still hold the cgroup.
		// In its own one, the init's exit waited for every other process
		// of the namespace to be gone, unless the init is alive still.
		if c.ownPidNS() && !c.initAlive() {
			// nothing left to kill
		} else if pids, _ := cg.Pids(); len(pids) > 0 {
			_ = signalAll(cg, unix.SIGKILL, false)
			waitEmpty(cg)
		}
		if err := cg.Destroy(); err != nil {
			return fmt.Errorf("container %s: remove cgroup: %w", c.rec.ID, err)
		}
	}
	if !c.hasMountNS() {
		// Its mounts were made in the runtime's namespace (rootfs.Cleanup).
		if err := rootfs.Cleanup(c.rec.Rootfs); err != nil {
			return fmt.Errorf("container %s: unmount rootfs: %w", c.rec.ID, err)
		}
	}
	if err := removeStateDir(c.dir); err != nil {
		return fmt.Errorf("container %s: remove state: %w", c.rec.ID, err)
	}
	if h := c.rec.Spec.Hooks; h != nil && len(h.Poststop) > 0 {
		for _, err := range runAllHooks("poststop", h.Poststop, c.stateFor(Stopped)) {
			c.rt.warn("poststop hook failed", c.rec.ID, err)
		}
	}
	return nil
}

func (c *Container) killAndWait() {
	if cg, err := c.cgroup(); err == nil {
		_ = signalAll(cg, unix.SIGKILL, c.Status() == Paused)
	}
	if c.initAlive() {
		_ = pidfdSignal(c.rec.InitPid, unix.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.initAlive() && time.Now().Before(deadline) {
		var ws unix.WaitStatus
		if pid, _ := unix.Wait4(c.rec.InitPid, &ws, unix.WNOHANG, nil); pid == c.rec.InitPid {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitEmpty(cg *cgroups.Manager) {
	for i := 0; i < 500; i++ {
		if pids, err := cg.Pids(); err != nil || len(pids) == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Pause freezes every process of the container.
func (c *Container) Pause() error {
	switch st := c.Status(); st {
	case Running, Created:
	default:
		return fmt.Errorf("container %s: cannot pause a %s container", c.rec.ID, st)
	}
	cg, err := c.cgroup()
	if err != nil {
		return err
	}
	return cg.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if st := c.Status(); st != Paused {
		return fmt.Errorf("container %s: cannot resume a %s container: not paused", c.rec.ID, st)
	}
	cg, err := c.cgroup()
	if err != nil {
		return err
	}
	return cg.Thaw()
}

// Update changes the container's resource limits and records them.
func (c *Container) Update(r *specs.LinuxResources) error {
	if c.Status() == Stopped {
		return fmt.Errorf("container %s: %w", c.rec.ID, ErrNotRunning)
	}
	cg, err := c.cgroup()
	if err != nil {
		return err
	}
	if err := cg.Update(r); err != nil {
		return err
	}
	if c.rec.Cgroup, err = json.Marshal(cg.State()); err != nil {
		return err
	}
	return c.save()
}

// Stats reads the container's cgroup counters.
func (c *Container) Stats() (*cgroups.Stats, error) {
	if c.Status() == Stopped {
		return nil, fmt.Errorf("container %s: %w", c.rec.ID, ErrNotRunning)
	}
	cg, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	return cg.Stats()
}

// Processes lists the host pids in the container's cgroup.
func (c *Container) Processes() ([]int, error) {
	cg, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	return cg.Pids()
}

// Wait waits for the init to exit and returns its exit code (128+n for a
// signal). It works only for the process that created the container: the
// init is its child (see spawn).
func (c *Container) Wait() (int, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(c.rec.InitPid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("wait for init: %w", err)
		}
		break
	}
	trace("init exited")
	return exitCode(ws), nil
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// OOMKillCount is how many processes the kernel's OOM killer has killed in
// the container's cgroup.
func (c *Container) OOMKillCount() (uint64, error) {
	cg, err := c.cgroup()
	if err != nil {
		return 0, err
	}
	return cg.OOMKillCount()
}

// ownPidNS says the container's init made a pid namespace of its own.
func (c *Container) ownPidNS() bool {
	if c.rec.Spec == nil || c.rec.Spec.Linux == nil {
		return false
	}
	for _, ns := range c.rec.Spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			return ns.Path == ""
		}
	}
	return false
}

// removeStateDir removes a container's state directory: the files the
// runtime writes there by name, then the directory (os.RemoveAll, which
// lists it first, only when something else is left).
func removeStateDir(dir string) error {
	for _, name := range []string{stateFile, fifoName, fastStartMarker, fastDeleteMarker} {
		if err := unix.Unlinkat(unix.AT_FDCWD, filepath.Join(dir, name), 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return os.RemoveAll(dir)
		}
	}
	if err := unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return os.RemoveAll(dir)
}

func (c *Container) hasMountNS() bool {
	if c.rec.Spec == nil || c.rec.Spec.Linux == nil {
		return false
	}
	for _, ns := range c.rec.Spec.Linux.Namespaces {
		if ns.Type == specs.MountNamespace {
			return true
		}
	}
	return false
}

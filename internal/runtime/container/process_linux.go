package container

import (
	"fmt"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

func validateRlimits(rl []specs.POSIXRlimit) error {
	seen := map[string]bool{}
	for _, r := range rl {
		if _, ok := rlimitTypes[r.Type]; !ok {
			return fmt.Errorf("config.json: rlimit type %q is not supported", r.Type)
		}
		if seen[r.Type] {
			return fmt.Errorf("config.json: rlimit %s appears twice", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return fmt.Errorf("config.json: rlimit %s: soft limit %d is above hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
	return nil
}

// setRlimits goes through the syscall package on purpose: the Go runtime
// raises RLIMIT_NOFILE at start and puts its original value back at execve
// unless the limit was set through syscall.Setrlimit.
func setRlimits(rl []specs.POSIXRlimit) error {
	for _, r := range rl {
		lim := syscall.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := syscall.Setrlimit(rlimitTypes[r.Type], &lim); err != nil {
			return fmt.Errorf("set rlimit %s (soft %d, hard %d): %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

func setIOPriority(p *specs.LinuxIOPriority) error {
	classes := map[specs.IOPriorityClass]int{
		specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3,
	}
	class, ok := classes[p.Class]
	if !ok {
		return fmt.Errorf("ioPriority class %q is not supported", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return fmt.Errorf("ioPriority priority %d is out of range 0-7", p.Priority)
	}
	const whoProcess = 1
	prio := class<<13 | p.Priority
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, whoProcess, 0, uintptr(prio)); errno != 0 {
		return fmt.Errorf("set io priority: %w", errno)
	}
	return nil
}

// schedAttr is struct sched_attr of sched_setattr(2).
type schedAttr struct {
	size, policy           uint32
	flags                  uint64
	nice                   int32
	priority               uint32
	runtime, deadline, per uint64
}

func setScheduler(s *specs.Scheduler) error {
	policies := map[specs.LinuxSchedulerPolicy]uint32{
		specs.SchedOther: 0, specs.SchedFIFO: 1, specs.SchedRR: 2, specs.SchedBatch: 3,
		specs.SchedISO: 4, specs.SchedIdle: 5, specs.SchedDeadline: 6,
	}
	pol, ok := policies[s.Policy]
	if !ok {
		return fmt.Errorf("scheduler policy %q is not supported", s.Policy)
	}
	flagBits := map[specs.LinuxSchedulerFlag]uint64{
		specs.SchedFlagResetOnFork: 0x01, specs.SchedFlagReclaim: 0x02, specs.SchedFlagDLOverrun: 0x04,
		specs.SchedFlagKeepPolicy: 0x08, specs.SchedFlagKeepParams: 0x10, specs.SchedFlagUtilClampMin: 0x20,
		specs.SchedFlagUtilClampMax: 0x40,
	}
	attr := schedAttr{policy: pol, nice: s.Nice, priority: uint32(s.Priority), runtime: s.Runtime, deadline: s.Deadline, per: s.Period}
	attr.size = uint32(unsafe.Sizeof(attr))
	for _, f := range s.Flags {
		b, ok := flagBits[f]
		if !ok {
			return fmt.Errorf("scheduler flag %q is not supported", f)
		}
		attr.flags |= b
	}
	if _, _, errno := unix.Syscall(unix.SYS_SCHED_SETATTR, 0, uintptr(unsafe.Pointer(&attr)), 0); errno != 0 {
		return fmt.Errorf("sched_setattr %s: %w", s.Policy, errno)
	}
	return nil
}

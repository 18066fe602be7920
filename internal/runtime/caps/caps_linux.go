package caps

import (
	"errors"
	"fmt"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Apply sets the capabilities of the calling thread to c: every capability
// not in c.Bounding is dropped from the bounding set, the effective,
// permitted and inheritable sets are set to exactly c's, and then the ambient
// set is cleared and c.Ambient raised. A nil c drops everything.
//
// Names unknown to berth or to the running kernel are ignored and returned
// as warnings. It is an error, reported before anything changes, for an
// effective capability to be missing from the permitted set or an ambient
// one from the permitted or inheritable set.
//
// Call it from the locked OS thread that will execve, after the uid/gid
// change (see the package documentation). Dropping bounding capabilities
// needs CAP_SETPCAP; Apply raises it in the effective set from the permitted
// set if needed, and errors if it is not permitted either and there is still
// something to drop. On error the thread may be left partly changed; the
// init must not execve.
func Apply(c *specs.LinuxCapabilities) (warnings []string, err error) {
	last, err := capability.LastCap()
	if err != nil {
		return nil, fmt.Errorf("caps: apply: %w", err)
	}
	s, warnings := resolve(c, last)
	// A capability this process does not hold cannot be granted (capset
	// would fail with EPERM): on a host or in a parent container that lacks
	// some, the container gets the others, with a warning per missing one.
	cur, err := getThread()
	if err != nil {
		return warnings, fmt.Errorf("caps: apply: %w", err)
	}
	if missing := (s.effective | s.permitted | s.inheritable | s.ambient) &^ cur.permitted; missing != 0 {
		for k := capability.Cap(0); k <= last; k++ {
			if missing.has(k) {
				warnings = append(warnings, fmt.Sprintf("capability %s is not held by berth-runtime, left out", capName(k)))
			}
		}
		s.effective &= cur.permitted
		s.permitted &= cur.permitted
		s.inheritable &= cur.permitted
		s.ambient &= cur.permitted
	}
	if err := s.check(last); err != nil {
		return warnings, fmt.Errorf("caps: apply: %w", err)
	}
	if err := dropBounding(s.bounding, last); err != nil {
		return warnings, fmt.Errorf("caps: apply: %w", err)
	}
	if err := setThread(threadCaps{effective: s.effective, permitted: s.permitted, inheritable: s.inheritable}); err != nil {
		return warnings, fmt.Errorf("caps: apply: set effective/permitted/inheritable: %w", err)
	}
	if err := setAmbient(s.ambient, last); err != nil {
		return warnings, fmt.Errorf("caps: apply: %w", err)
	}
	return warnings, nil
}

// ApplyBounding only drops from the calling thread's bounding set every
// capability not in c.Bounding (all of them for a nil c). The thread must
// have CAP_SETPCAP in its permitted set. Warnings are as for Apply. Calling
// it before Apply is optional.
func ApplyBounding(c *specs.LinuxCapabilities) (warnings []string, err error) {
	last, err := capability.LastCap()
	if err != nil {
		return nil, fmt.Errorf("caps: apply bounding set: %w", err)
	}
	s, warnings := resolve(c, last)
	if err := dropBounding(s.bounding, last); err != nil {
		return warnings, fmt.Errorf("caps: apply bounding set: %w", err)
	}
	return warnings, nil
}

// dropBounding removes every capability up to last that is not in keep and
// still in the thread's bounding set.
func dropBounding(keep mask, last capability.Cap) error {
	var drop []capability.Cap
	for c := capability.Cap(0); c <= last; c++ {
		if keep.has(c) {
			continue
		}
		in, err := capability.GetBound(c)
		if err != nil {
			return fmt.Errorf("read bounding set for %s: %w", capName(c), err)
		}
		if in {
			drop = append(drop, c)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	// PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set. After a switch
	// away from uid 0 with keep-caps the effective set is empty but the
	// permitted set still holds it, so raise it back for the drop; the
	// final capset decides whether it stays.
	cur, err := getThread()
	if err != nil {
		return fmt.Errorf("drop bounding set: %w", err)
	}
	if !cur.effective.has(capability.CAP_SETPCAP) {
		if !cur.permitted.has(capability.CAP_SETPCAP) {
			return fmt.Errorf("cannot drop %s (%d capabilities in all) from the bounding set: CAP_SETPCAP is not in the permitted set (drop the bounding set before changing uid, or set PR_SET_KEEPCAPS before it)", capName(drop[0]), len(drop))
		}
		cur.effective |= 1 << uint(capability.CAP_SETPCAP)
		if err := setThread(cur); err != nil {
			return fmt.Errorf("raise CAP_SETPCAP to drop the bounding set: %w", err)
		}
	}
	for _, c := range drop {
		if err := capability.DropBound(c); err != nil {
			return fmt.Errorf("drop %s from the bounding set: %w", capName(c), err)
		}
	}
	return nil
}

// setAmbient clears the ambient set and raises amb. Kernels before 4.3 have
// no ambient set: that is only an error if amb is not empty.
func setAmbient(amb mask, last capability.Cap) error {
	if err := capability.ResetAmbient(); err != nil {
		if errors.Is(err, unix.EINVAL) && amb == 0 {
			return nil
		}
		return fmt.Errorf("clear ambient set: %w", err)
	}
	for c := capability.Cap(0); c <= last; c++ {
		if !amb.has(c) {
			continue
		}
		if err := capability.SetAmbient(true, c); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", capName(c), err)
		}
	}
	return nil
}

// threadCaps is what capget/capset carry.
type threadCaps struct {
	effective, permitted, inheritable mask
}

// getThread reads the calling thread's sets (pid 0 means the calling thread).
func getThread() (threadCaps, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return threadCaps{}, fmt.Errorf("capget: %w", err)
	}
	join := func(lo, hi uint32) mask { return mask(hi)<<32 | mask(lo) }
	return threadCaps{
		effective:   join(data[0].Effective, data[1].Effective),
		permitted:   join(data[0].Permitted, data[1].Permitted),
		inheritable: join(data[0].Inheritable, data[1].Inheritable),
	}, nil
}

// setThread sets the calling thread's sets.
func setThread(t threadCaps) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(t.effective), Permitted: uint32(t.permitted), Inheritable: uint32(t.inheritable)},
		{Effective: uint32(t.effective >> 32), Permitted: uint32(t.permitted >> 32), Inheritable: uint32(t.inheritable >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// Masks resolves c into bit masks of the bounding, effective, permitted,
// inheritable and ambient sets for this kernel, dropping unknown names and
// capabilities past its last as Apply does (without the warnings), and
// checks them. A process that applies them itself (the C stage of an exec)
// must still leave out what it does not hold, as Apply does.
func Masks(c *specs.LinuxCapabilities) ([5]uint64, error) {
	last, err := capability.LastCap()
	if err != nil {
		return [5]uint64{}, fmt.Errorf("caps: %w", err)
	}
	s, _ := resolve(c, last)
	return [5]uint64{uint64(s.bounding), uint64(s.effective), uint64(s.permitted), uint64(s.inheritable), uint64(s.ambient)}, nil
}

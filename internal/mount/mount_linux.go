package mount

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

var flagOpts = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro":       {false, unix.MS_RDONLY},
	"rw":       {true, unix.MS_RDONLY},
	"bind":     {false, unix.MS_BIND},
	"rbind":    {false, unix.MS_BIND | unix.MS_REC},
	"nosuid":   {false, unix.MS_NOSUID},
	"nodev":    {false, unix.MS_NODEV},
	"noexec":   {false, unix.MS_NOEXEC},
	"relatime": {false, unix.MS_RELATIME},
}

func parse(opts []string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		if f, ok := flagOpts[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, o)
	}
	return flags, strings.Join(data, ",")
}

// Mount performs m on target.
func (m Mount) Mount(target string) error {
	flags, data := parse(m.Options)
	if flags&unix.MS_BIND != 0 {
		// A bind ignores MS_RDONLY on the first call: remount to apply it.
		if err := unix.Mount(m.Source, target, "", flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return err
		}
		if flags&^(unix.MS_BIND|unix.MS_REC) != 0 {
			if err := unix.Mount("", target, "", flags|unix.MS_REMOUNT, ""); err != nil {
				_ = unix.Unmount(target, unix.MNT_DETACH)
				return err
			}
		}
		return nil
	}
	return unix.Mount(m.Source, target, m.Type, flags, data)
}

// All performs ms in order on target.
func All(ms []Mount, target string) error {
	for _, m := range ms {
		if err := m.Mount(target); err != nil {
			return err
		}
	}
	return nil
}

// UnmountAll unmounts everything stacked on target; no mount is not an error.
func UnmountAll(target string) error {
	for {
		err := unix.Unmount(target, 0)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(target, unix.MNT_DETACH)
		}
		if err != nil {
			return err
		}
	}
}

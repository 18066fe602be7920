package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOpts is a spec mount's option list split the way mount(8) splits it:
// flag words become MS_* bits, propagation words become separate mount(2)
// calls, recursive words become one mount_setattr(AT_RECURSIVE), and anything
// else is filesystem data.
type mountOpts struct {
	set   uintptr // MS_* flags to set
	clear uintptr // MS_* flags explicitly cleared (rw, suid, dev, exec, ...)
	// propagation holds MS_SHARED, MS_SLAVE, ... (maybe |MS_REC), in order.
	propagation []uintptr
	// recSet and recClr are MOUNT_ATTR_* bits for mount_setattr; rec says a
	// recursive word was given (MOUNT_ATTR_RELATIME is 0, so bits alone
	// cannot tell).
	recSet, recClr uint64
	rec            bool
	data           []string
}

func (o *mountOpts) bind() bool { return o.set&unix.MS_BIND != 0 }

func (o *mountOpts) dataString() string { return strings.Join(o.data, ",") }

// flagWords are mount(8)'s flag words: clear says the word removes the flag.
var flagWords = map[string]struct {
	clear bool
	flag  uintptr
}{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"iversion":      {false, unix.MS_I_VERSION},
	"noiversion":    {true, unix.MS_I_VERSION},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
}

var propagationWords = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// recursiveWords are the runtime-spec's recursive flags, applied with
// mount_setattr(AT_RECURSIVE). The atime words are an enum in the kernel: any
// of them clears the whole MOUNT_ATTR__ATIME field and sets its value, so
// ratime, rnorelatime and rnostrictatime all land on the kernel default
// (relatime), exactly as their non-recursive forms do with mount(2).
var recursiveWords = map[string]struct {
	clear bool
	attr  uint64
}{
	"rro":            {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":            {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":        {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":          {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":         {false, unix.MOUNT_ATTR_NODEV},
	"rdev":           {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":        {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":          {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":    {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":      {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow":   {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":     {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rrelatime":      {false, unix.MOUNT_ATTR_RELATIME},
	"rnorelatime":    {true, unix.MOUNT_ATTR_RELATIME},
	"rnoatime":       {false, unix.MOUNT_ATTR_NOATIME},
	"ratime":         {true, unix.MOUNT_ATTR_NOATIME},
	"rstrictatime":   {false, unix.MOUNT_ATTR_STRICTATIME},
	"rnostrictatime": {true, unix.MOUNT_ATTR_STRICTATIME},
}

var atimeWords = map[string]bool{
	"rrelatime": true, "rnorelatime": true, "rnoatime": true,
	"ratime": true, "rstrictatime": true, "rnostrictatime": true,
}

// parseOptions splits a spec mount's options. idmapped mounts and tmpfs
// copy-up are refused; "x-" words are userspace-only in mount(8) and dropped.
func parseOptions(options []string) (mountOpts, error) {
	var o mountOpts
	for _, w := range options {
		if f, ok := flagWords[w]; ok {
			if f.clear {
				o.clear |= f.flag
				o.set &^= f.flag
			} else {
				o.set |= f.flag
				o.clear &^= f.flag
			}
			continue
		}
		if p, ok := propagationWords[w]; ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if r, ok := recursiveWords[w]; ok {
			o.rec = true
			if atimeWords[w] {
				o.recClr |= unix.MOUNT_ATTR__ATIME
				o.recSet &^= unix.MOUNT_ATTR__ATIME
				if !r.clear {
					o.recSet |= r.attr
				}
				continue
			}
			if r.clear {
				o.recClr |= r.attr
				o.recSet &^= r.attr
			} else {
				o.recSet |= r.attr
				o.recClr &^= r.attr
			}
			continue
		}
		switch {
		case w == "idmap" || w == "ridmap":
			return o, fmt.Errorf("option %q: idmapped mounts are not supported", w)
		case w == "tmpcopyup":
			return o, fmt.Errorf("option %q: tmpfs copy-up is not supported", w)
		case strings.HasPrefix(w, "x-"):
			continue
		case w == "":
			continue
		}
		o.data = append(o.data, w)
	}
	return o, nil
}

// parsePropagation parses Linux.RootfsPropagation; "" gives 0.
func parsePropagation(s string) (uintptr, error) {
	if s == "" {
		return 0, nil
	}
	p, ok := propagationWords[s]
	if !ok {
		return 0, fmt.Errorf("rootfs propagation %q: want one of shared, slave, private, unbindable or their r-forms", s)
	}
	return p, nil
}

// statfsFlags turns statfs(2)'s f_flags into the MS_* flags of the mount.
func statfsFlags(st *unix.Statfs_t) uintptr {
	var out uintptr
	for _, f := range [...]struct {
		st int64
		ms uintptr
	}{
		{unix.ST_RDONLY, unix.MS_RDONLY},
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_SYNCHRONOUS, unix.MS_SYNCHRONOUS},
		{unix.ST_MANDLOCK, unix.MS_MANDLOCK},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
		{0x2000 /* ST_NOSYMFOLLOW */, unix.MS_NOSYMFOLLOW},
	} {
		if int64(st.Flags)&f.st != 0 {
			out |= f.ms
		}
	}
	return out
}

// mountAttrs turns per-mount MS_* flags into MOUNT_ATTR_* bits for fsmount(2).
func mountAttrs(ms uintptr) int {
	var a int
	for _, f := range [...]struct {
		ms   uintptr
		attr int
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
		{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
	} {
		if ms&f.ms != 0 {
			a |= f.attr
		}
	}
	switch {
	case ms&unix.MS_STRICTATIME != 0:
		a |= unix.MOUNT_ATTR_STRICTATIME
	case ms&unix.MS_NOATIME != 0:
		a |= unix.MOUNT_ATTR_NOATIME
	}
	return a
}

// flagNames renders MS_* flags for error messages.
func flagNames(ms uintptr) string {
	var names []string
	for _, w := range [...]string{"ro", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime", "strictatime", "nosymfollow"} {
		if ms&flagWords[w].flag != 0 {
			names = append(names, w)
		}
	}
	return strings.Join(names, ",")
}

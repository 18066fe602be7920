package nsexec

// #cgo CFLAGS: -Wall -O2
import "C"

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// EnvInitPipe names the environment variable that carries the number of the
// init socket's file descriptor in the child.
const EnvInitPipe = "_BERTH_INITPIPE"

// UsermapAck is the byte the parent writes after it has written the child's
// uid_map and gid_map.
const UsermapAck = 'A'

// ExecGo is the byte the parent writes, with Exec set, once it has read the
// pid line: the C stage sets up the process only then, so a failure always
// reaches a parent that can kill and reap it.
const ExecGo = 'G'

// ExecLimits is the byte the parent writes, after ExecGo, once it has
// written the cgroup limits, to a C init started with Init.WaitLimits.
const ExecLimits = 'L'

// ExecStart is the byte that releases a C init started with
// Init.StartOnSocket to execve the container's process (`run`).
const ExecStart = 'S'

// Join is a namespace to enter by path.
type Join struct {
	Type string // user, mnt, pid, net, ipc, uts, cgroup, time
	Path string
}

// Bootstrap is what the C stage needs. It travels on the init socket as a
// native-endian uint32 length followed by NUL-terminated key=value entries:
//
//	clone=<decimal clone flags>     namespaces to create with unshare(2)
//	join=<type>:<path>              one per namespace to join with setns(2)
//	uidmap=<lines> gidmap=<lines>   present when the parent will write them
//	oom=<n>                         oom_score_adj, written before any userns
//	timens=<lines>                  /proc/self/timens_offsets content
//	cgtask=<path>                   a v1 tasks file to write "0" to (join that cgroup)
//	cgv2mk=1                        make the cgv2 directory first (before cgv2)
//	cgv2=<dir>                      a cgroup v2 directory to clone the init into
//
// With Exec set (an `exec` whose process needs nothing only Go does), the
// C stage also sets up the process and execs it, so no Go runtime starts in
// the container (see exec.c); these entries follow, in this order:
//
//	exec=1                          the C stage execs the process, after the
//	                                parent's ExecGo byte (sent once it knows the pid)
//	keepfds=<n>                     descriptors below n cross the execve
//	nnp=0|1                         no_new_privs
//	seccomp=<flags>:<hex BPF>       the compiled filter (8 bytes per instruction)
//	uid=<n> gid=<n> groups=<n,...>  credentials; umask=<octal> when set
//	caps=<b>,<e>,<p>,<i>,<a>        capability masks (hex), unknown names dropped
//	cwd=<path>
//	rlimit=<resource>,<soft>,<hard>
//	home=<uid>                      add HOME from the container's /etc/passwd
//	arg=<s>, env=<s>                argv and environment, in order
//
// The C stage answers with JSON lines on the same socket:
//
//	{"type":"usermap"}              then waits for one UsermapAck byte
//	{"type":"pid","pid":N}          N is the container's init, in the parent's pid namespace
//	{"type":"error","message":"…"}  the stage failed and exits 1
type Bootstrap struct {
	CloneFlags  uintptr
	Join        []Join
	UIDMap      string
	GIDMap      string
	OOMScoreAdj *int
	TimeOffsets string
	CgroupTasks []string // v1 tasks files, joined before any namespace
	CgroupV2    string   // v2 (or hybrid unified) cgroup directory
	// CgroupV2Make: the C stage makes CgroupV2 first (its parent exists),
	// so the mkdir is not in front of the bootstrap.
	CgroupV2Make bool
	Exec         *Exec // when set, the C stage execs this process itself
	// Init, with Exec, makes the C stage the whole container init: it
	// sets up the root filesystem and everything else the Go init does,
	// reports "ready" and execs Exec's process once `start` releases it.
	Init *Init
}

// Init is a container init the C stage performs without the Go runtime
// (see init.c): what container.initContainer does, with every decision
// that needs only the spec already taken (rootfs.Compile). It travels as
// these entries, after Exec's, in this order:
//
//	init=1                          the C stage is the init
//	fifofd=<n>                      the exec fifo's O_PATH descriptor
//	waitlimits=1                    wait for ExecLimits before the device nodes
//	startsock=1                     wait for ExecStart on the socket instead of the fifo
//	cglate=<path>                   a v1 tasks file joined after ExecGo (one per hierarchy)
//	cgroupns=1                      unshare a cgroup namespace after joining
//	incgroupns=1                    the container has a cgroup namespace (cgroup mounts)
//	rootfs=<path> prop=<flags>      the rootfs and the first propagation of "/"
//	m=<kind>                        a mount (MountKind), then its m.* entries:
//	m.src= m.dst= m.type= m.flags= m.data= m.file=1 m.keepmode=1
//	m.remount=<flags> m.clear=<flags> m.prop=<flags>... m.rec=<set>,<clr> m.cgattrs=<n>
//	dev=<kind>,<major>,<minor>,<mode>,<uid>,<gid>,<path>
//	devlinks=1
//	hostname= domainname= mkcwd=<dir> lo=1
//	sysctl=<path under /proc/sys>=<value>
//	ropath= mask= delayro=<0|1>:<dest> rootro=1 finalprop=<flags>
//	trace=1                         report phases (as the Go init's trace messages)
//	consolefd=<n> consolesize=<rows>,<cols>  terminal: the console socket and size
//
// The C stage then answers {"type":"ready"} (or an error) on the socket,
// after ExecGo, which the parent sends once the cgroups exist.
type Init struct {
	FifoFd int
	// StartOnSocket: after "ready" the init waits for one ExecStart byte
	// on its socket, not for `start` on the exec fifo (FifoFd is unused);
	// EOF there (the parent died) ends it without running anything.
	StartOnSocket bool
	// WaitLimits: before its device nodes the init waits for one
	// ExecLimits byte (the parent writes the limits after ExecGo).
	WaitLimits       bool
	CgroupTasks      []string
	NewCgroupNS      bool
	CgroupNS         bool
	Rootfs           string
	Propagation      uintptr
	Mounts           []Mount
	Devices          []Device
	DevLinks         bool
	Hostname         string
	Domainname       string
	MkdirCwd         string
	Loopback         bool
	Sysctls          [][2]string // path under /proc/sys, value
	ReadonlyPaths    []string
	MaskedPaths      []string
	DelayedRO        []DelayedRO
	ReadonlyRoot     bool
	FinalPropagation uintptr
	Trace            bool // report phases as {"type":"trace"} lines
	// ConsoleFd is the console socket the pty master goes to (the
	// process has a terminal), with the initial size when both are set.
	ConsoleFd   int
	ConsoleRows uint16
	ConsoleCols uint16
}

// Mount is one mount of Init (see rootfs.PlannedMount).
type Mount struct {
	Kind         int
	Source       string
	Dest         string
	FSType       string
	Flags        uintptr
	Data         string
	File         bool
	KeepMode     bool
	Remount      bool
	RemountFlags uintptr
	Clear        uintptr
	Propagation  []uintptr
	Rec          bool
	RecSet       uint64
	RecClr       uint64
	CgroupAttrs  int
}

// Device is a node Init creates.
type Device struct {
	Path                               string
	Kind, Major, Minor, Mode, UID, GID uint32
}

// DelayedRO is a mount Init turns read-only at the end.
type DelayedRO struct {
	Dest string
	Rec  bool
}

func (in *Init) encode(add func(k, v string) error) error {
	var kv [][2]string
	put := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	num := func(v uint64) string { return strconv.FormatUint(v, 10) }
	put("init", "1")
	if in.WaitLimits {
		put("waitlimits", "1")
	}
	if in.StartOnSocket {
		put("startsock", "1")
	} else {
		put("fifofd", strconv.Itoa(in.FifoFd))
	}
	for _, t := range in.CgroupTasks {
		put("cglate", t)
	}
	if in.NewCgroupNS {
		put("cgroupns", "1")
	}
	if in.CgroupNS {
		put("incgroupns", "1")
	}
	put("rootfs", in.Rootfs)
	put("prop", num(uint64(in.Propagation)))
	for _, m := range in.Mounts {
		put("m", strconv.Itoa(m.Kind))
		put("m.src", m.Source)
		put("m.dst", m.Dest)
		if m.FSType != "" {
			put("m.type", m.FSType)
		}
		put("m.flags", num(uint64(m.Flags)))
		if m.Data != "" {
			put("m.data", m.Data)
		}
		if m.File {
			put("m.file", "1")
		}
		if m.KeepMode {
			put("m.keepmode", "1")
		}
		if m.Remount {
			put("m.remount", num(uint64(m.RemountFlags)))
			put("m.clear", num(uint64(m.Clear)))
		}
		for _, p := range m.Propagation {
			put("m.prop", num(uint64(p)))
		}
		if m.Rec {
			put("m.rec", num(m.RecSet)+","+num(m.RecClr))
		}
		if m.CgroupAttrs != 0 {
			put("m.cgattrs", strconv.Itoa(m.CgroupAttrs))
		}
	}
	for _, d := range in.Devices {
		put("dev", fmt.Sprintf("%d,%d,%d,%d,%d,%d,%s", d.Kind, d.Major, d.Minor, d.Mode, d.UID, d.GID, d.Path))
	}
	if in.DevLinks {
		put("devlinks", "1")
	}
	if in.Hostname != "" {
		put("hostname", in.Hostname)
	}
	if in.Domainname != "" {
		put("domainname", in.Domainname)
	}
	if in.MkdirCwd != "" {
		put("mkcwd", in.MkdirCwd)
	}
	if in.Loopback {
		put("lo", "1")
	}
	for _, s := range in.Sysctls {
		if strings.Contains(s[0], "=") {
			return fmt.Errorf("nsexec: sysctl %q contains '='", s[0])
		}
		put("sysctl", s[0]+"="+s[1])
	}
	for _, p := range in.ReadonlyPaths {
		put("ropath", p)
	}
	for _, p := range in.MaskedPaths {
		put("mask", p)
	}
	for _, d := range in.DelayedRO {
		r := "0:"
		if d.Rec {
			r = "1:"
		}
		put("delayro", r+d.Dest)
	}
	if in.ReadonlyRoot {
		put("rootro", "1")
	}
	if in.FinalPropagation != 0 {
		put("finalprop", num(uint64(in.FinalPropagation)))
	}
	if in.Trace {
		put("trace", "1")
	}
	if in.ConsoleFd > 0 {
		put("consolefd", strconv.Itoa(in.ConsoleFd))
		if in.ConsoleRows > 0 && in.ConsoleCols > 0 {
			put("consolesize", fmt.Sprintf("%d,%d", in.ConsoleRows, in.ConsoleCols))
		}
	}
	for _, p := range kv {
		if err := add(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}

// Exec is a process the C stage sets up and execs without the Go runtime:
// what the init's Go stage would do for an `exec`, with every decision that
// needs Go (capability names, the seccomp compile, the spec) made by the
// parent.
type Exec struct {
	KeepFDs     int // 3 + preserved fds
	NoNewPrivs  bool
	SeccompBPF  []byte // raw struct sock_filter array; empty: no filter
	SeccompFlag uint32
	UID, GID    uint32
	Groups      []uint32
	Umask       *uint32
	// Caps are the bounding, effective, permitted, inheritable and
	// ambient masks.
	Caps    [5]uint64
	Cwd     string
	Rlimits []Rlimit
	AddHome bool // env has no HOME: take the uid's from /etc/passwd
	Args    []string
	Env     []string
}

// Rlimit is one setrlimit(2) call.
type Rlimit struct {
	Resource   int
	Soft, Hard uint64
}

// Encode returns the wire form of b.
func (b *Bootstrap) Encode() ([]byte, error) {
	var body bytes.Buffer
	add := func(k, v string) error {
		if bytes.IndexByte([]byte(v), 0) >= 0 {
			return fmt.Errorf("nsexec: %s value contains a NUL byte", k)
		}
		body.WriteString(k)
		body.WriteByte('=')
		body.WriteString(v)
		body.WriteByte(0)
		return nil
	}
	if err := add("clone", strconv.FormatUint(uint64(b.CloneFlags), 10)); err != nil {
		return nil, err
	}
	for _, j := range b.Join {
		if err := add("join", j.Type+":"+j.Path); err != nil {
			return nil, err
		}
	}
	if b.UIDMap != "" {
		if err := add("uidmap", b.UIDMap); err != nil {
			return nil, err
		}
	}
	if b.GIDMap != "" {
		if err := add("gidmap", b.GIDMap); err != nil {
			return nil, err
		}
	}
	if b.OOMScoreAdj != nil {
		if err := add("oom", strconv.Itoa(*b.OOMScoreAdj)); err != nil {
			return nil, err
		}
	}
	if b.TimeOffsets != "" {
		if err := add("timens", b.TimeOffsets); err != nil {
			return nil, err
		}
	}
	for _, t := range b.CgroupTasks {
		if err := add("cgtask", t); err != nil {
			return nil, err
		}
	}
	if b.CgroupV2 != "" && b.CgroupV2Make {
		if err := add("cgv2mk", "1"); err != nil {
			return nil, err
		}
	}
	if b.CgroupV2 != "" {
		if err := add("cgv2", b.CgroupV2); err != nil {
			return nil, err
		}
	}
	if e := b.Exec; e != nil {
		if err := e.encode(add); err != nil {
			return nil, err
		}
	}
	if in := b.Init; in != nil {
		if b.Exec == nil {
			return nil, fmt.Errorf("nsexec: an init needs its process (Exec)")
		}
		if err := in.encode(add); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 4, 4+body.Len())
	binary.NativeEndian.PutUint32(out, uint32(body.Len()))
	return append(out, body.Bytes()...), nil
}

func (e *Exec) encode(add func(k, v string) error) error {
	if len(e.Args) == 0 {
		return fmt.Errorf("nsexec: exec without args")
	}
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	u := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
	groups := make([]string, len(e.Groups))
	for i, g := range e.Groups {
		groups[i] = u(g)
	}
	kv := [][2]string{
		{"exec", "1"},
		{"keepfds", strconv.Itoa(e.KeepFDs)},
		{"nnp", b(e.NoNewPrivs)},
		{"uid", u(e.UID)},
		{"gid", u(e.GID)},
		{"groups", strings.Join(groups, ",")},
		{"caps", fmt.Sprintf("%x,%x,%x,%x,%x", e.Caps[0], e.Caps[1], e.Caps[2], e.Caps[3], e.Caps[4])},
		{"cwd", e.Cwd},
	}
	if len(e.SeccompBPF) > 0 {
		kv = append(kv, [2]string{"seccomp", u(e.SeccompFlag) + ":" + hex.EncodeToString(e.SeccompBPF)})
	}
	if e.Umask != nil {
		kv = append(kv, [2]string{"umask", strconv.FormatUint(uint64(*e.Umask), 8)})
	}
	for _, r := range e.Rlimits {
		kv = append(kv, [2]string{"rlimit", fmt.Sprintf("%d,%d,%d", r.Resource, r.Soft, r.Hard)})
	}
	if e.AddHome {
		kv = append(kv, [2]string{"home", u(e.UID)})
	}
	for _, a := range e.Args {
		kv = append(kv, [2]string{"arg", a})
	}
	for _, v := range e.Env {
		kv = append(kv, [2]string{"env", v})
	}
	for _, p := range kv {
		if err := add(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}

package nsexec

// #cgo CFLAGS: -Wall -O2
import "C"

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// EnvInitPipe names the environment variable that carries the number of the
// init socket's file descriptor in the child.
const EnvInitPipe = "_BERTH_INITPIPE"

// UsermapAck is the byte the parent writes after it has written the child's
// uid_map and gid_map.
const UsermapAck = 'A'

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
//	cgv2=<dir>                      a cgroup v2 directory to clone the init into
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
	if b.CgroupV2 != "" {
		if err := add("cgv2", b.CgroupV2); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 4, 4+body.Len())
	binary.NativeEndian.PutUint32(out, uint32(body.Len()))
	return append(out, body.Bytes()...), nil
}

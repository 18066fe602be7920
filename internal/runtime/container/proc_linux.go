package container

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// procStat returns the state letter and start time (in clock ticks since
// boot) of pid from /proc/<pid>/stat. The start time tells a live init from
// an unrelated process that reused its pid.
func procStat(pid int) (state byte, start uint64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may itself contain spaces
	// and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := bytes.Fields(data[i+2:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// initAlive reports whether the recorded init still runs: same pid, same
// start time, not a zombie.
func (c *Container) initAlive() bool {
	if c.rec.InitPid <= 0 {
		return false
	}
	st, start, err := procStat(c.rec.InitPid)
	if err != nil {
		return false
	}
	return start == c.rec.InitStartTime && st != 'Z' && st != 'X'
}

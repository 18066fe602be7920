package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-engine/berth/internal/errdefs"
	"github.com/berth-engine/berth/internal/oci"
)

// ContainersPrune removes every stopped container (label filters:
// label=k, label=k=v, label!=...; until: created before). Space is not
// counted yet.
func (d *Daemon) ContainersPrune(ctx context.Context, filters map[string][]string) (ctypes.PruneReport, error) {
	rep := ctypes.PruneReport{ContainersDeleted: []string{}}
	for k := range filters {
		if k != "label" && k != "label!" && k != "until" {
			return rep, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	until, err := pruneUntil(filters)
	if err != nil {
		return rep, err
	}
	for _, c := range d.containers.List() {
		c.Lock()
		running := c.State.Running || c.State.RemovalInProgress
		labels := c.Config.Labels
		id := c.ID
		created := c.Created
		c.Unlock()
		if running || !labelsMatch(filters, labels) || !until.IsZero() && !created.Before(until) {
			continue
		}
		if err := d.ContainerRemove(ctx, id, false, false); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, errdefs.ErrConflict) {
				continue // removed or started meanwhile
			}
			return rep, err
		}
		rep.ContainersDeleted = append(rep.ContainersDeleted, id)
	}
	d.events.Publish(pruneEvent("container", rep.SpaceReclaimed))
	return rep, nil
}

func labelsMatch(filters map[string][]string, labels map[string]string) bool {
	has := func(v string) bool {
		k, val, hasVal := strings.Cut(v, "=")
		got, ok := labels[k]
		return ok && (!hasVal || got == val)
	}
	for _, v := range filters["label"] {
		if !has(v) {
			return false
		}
	}
	for _, v := range filters["label!"] {
		if has(v) {
			return false
		}
	}
	return true
}

// ContainerTop runs ps on the host with psArgs (default "-ef") and keeps
// the rows of the container's processes, read from its cgroup, as docker
// does.
func (d *Daemon) ContainerTop(ctx context.Context, idOrName, psArgs string) (ctypes.TopResponse, error) {
	var resp ctypes.TopResponse
	c, err := d.getContainer(idOrName)
	if err != nil {
		return resp, err
	}
	c.Lock()
	running, paused, id := c.State.Running, c.State.Paused, c.ID
	cg := oci.CgroupsPath(c)
	c.Unlock()
	if !running || paused {
		return resp, errdefs.New(errdefs.ErrConflict, fmt.Sprintf("container %s is not running", id))
	}
	pids, err := cgroupPids(cg)
	if err != nil {
		return resp, err
	}
	if psArgs == "" {
		psArgs = "-ef"
	}
	out, err := exec.CommandContext(ctx, "ps", strings.Fields(psArgs)...).Output()
	if err != nil {
		return resp, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("ps: %v", err))
	}
	return parsePS(string(out), pids)
}

// cgroupPids reads the container's processes from the first controller
// hierarchy that has its cgroup (v1 hybrid or v2).
func cgroupPids(cg string) ([]int, error) {
	for _, root := range []string{"pids", "memory", "freezer", "cpu,cpuacct", "unified", ""} {
		data, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", root, cg, "cgroup.procs"))
		if err != nil {
			continue
		}
		var pids []int
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
		return pids, nil
	}
	return nil, fmt.Errorf("cgroup %s of the container not found", cg)
}

// parsePS keeps the rows of ps output whose PID column is in pids; the
// last column (the command) may hold spaces.
func parsePS(out string, pids []int) (ctypes.TopResponse, error) {
	resp := ctypes.TopResponse{Processes: [][]string{}}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	resp.Titles = strings.Fields(lines[0])
	col := slices.Index(resp.Titles, "PID")
	if col < 0 {
		return resp, errdefs.New(errdefs.ErrInvalidParameter, "Couldn't find PID field in ps output")
	}
	n := len(resp.Titles)
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < n {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil || !slices.Contains(pids, pid) {
			continue
		}
		row := append(f[:n-1:n-1], strings.Join(f[n-1:], " "))
		resp.Processes = append(resp.Processes, row)
	}
	return resp, nil
}

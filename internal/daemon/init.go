package daemon

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/system"
)

// initBinary is the init berthd bind-mounts at /sbin/docker-init for --init
// (cmd/berth-init, built by the Makefile beside berthd).
const initBinary = "berth-init"

// initPath is the host path of the init binary: init-path from the
// configuration, else berth-init beside the berthd executable, else in
// PATH; "" when there is none (or init-path is no executable file).
func (d *Daemon) initPath() string {
	if p := d.cfg.InitPath; p != "" {
		if !isExecutable(p) {
			return ""
		}
		return p
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), initBinary); isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath(initBinary); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return ""
}

// initInfo is what info reports about the init: the configured path or the
// binary's name (dockerd reports "docker-init"), and the commit its
// --version prints ("berth-init version 1.0 - git.abc1234"), or "N/A".
func (d *Daemon) initInfo(ctx context.Context) (string, system.Commit) {
	name := d.cfg.InitPath
	if name == "" {
		name = initBinary
	}
	commit := system.Commit{ID: "N/A"}
	p := d.initPath()
	if p == "" {
		return name, commit
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--version").Output()
	if err != nil {
		return name, commit
	}
	if _, id, ok := strings.Cut(strings.TrimSpace(string(out)), " - git."); ok && id != "" {
		commit.ID = id
	}
	return name, commit
}

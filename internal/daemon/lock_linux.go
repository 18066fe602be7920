package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockRoot takes an exclusive flock on <root>/berthd.lock and writes our
// pid into it. The kernel drops the lock when the process dies, so a
// crashed daemon never leaves a stale lock; the pid is only for the message.
func lockRoot(root string) (*os.File, error) {
	p := filepath.Join(root, "berthd.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data root: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := os.ReadFile(p)
			pid := strings.TrimSpace(string(b))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("data root %s is in use by another berthd (pid %s); give each daemon its own --data-root", root, pid)
		}
		return nil, fmt.Errorf("lock data root %s: %w", p, err)
	}
	// The pid is informational: a failed write leaves the lock valid.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

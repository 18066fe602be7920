package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Errors callers can test with errors.Is.
var (
	ErrNotExist   = errors.New("container does not exist")
	ErrExist      = errors.New("container with given ID already exists")
	ErrInvalidID  = errors.New("invalid container ID format")
	ErrNotRunning = errors.New("container not running")
	ErrPaused     = errors.New("container paused")
	ErrNotCreated = errors.New("container is not in created state")
)

// Status values, as the OCI spec and runc name them.
const (
	Creating = "creating"
	Created  = "created"
	Running  = "running"
	Paused   = "paused"
	Stopped  = "stopped"
)

const (
	stateFile = "state.json"
	fifoName  = "exec.fifo"
	// fastStartMarker lets internal/runtime/faststart answer `start` in C
	// (faststart.Marker; its package doc has the contract).
	fastStartMarker = "start.fast"
	// fastDeleteMarker lets it answer `delete` (faststart.DeleteMarker).
	fastDeleteMarker = "delete.fast"
)

// ValidateID checks a container ID the way runc does: ^[\w+\-.]+$ (ASCII
// letters, digits, '_', '+', '-', '.'), not "." or "..", at most 1024 bytes.
// A loop, not a regexp: compiling one at package init costs every command
// ~0.04 ms.
func ValidateID(id string) error {
	ok := id != "" && id != "." && id != ".." && len(id) <= 1024
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '+' || c == '-' || c == '.'
	}
	if !ok {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return nil
}

// record is state.json: everything a later invocation needs to find and
// manage the container. The status is derived, never stored.
type record struct {
	ID             string            `json:"id"`
	InitPid        int               `json:"init_pid"`
	InitStartTime  uint64            `json:"init_start_time"`
	Bundle         string            `json:"bundle"`
	Rootfs         string            `json:"rootfs"`
	Created        time.Time         `json:"created"`
	Owner          string            `json:"owner"`
	Spec           *specs.Spec       `json:"spec"`
	Cgroup         json.RawMessage   `json:"cgroup,omitempty"`
	NamespacePaths map[string]string `json:"namespace_paths,omitempty"`
	SystemdCgroup  bool              `json:"systemd_cgroup,omitempty"`
}

// State is what `berth-runtime state` prints: the OCI state plus runc's
// extra fields, in runc's field order and names.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// OCI returns the state in the OCI runtime spec's shape, as hooks receive it.
func (s State) OCI() specs.State {
	return specs.State{
		Version:     specs.Version,
		ID:          s.ID,
		Status:      specs.ContainerState(s.Status),
		Pid:         s.Pid,
		Bundle:      s.Bundle,
		Annotations: s.Annotations,
	}
}

// writeFileAtomic writes data to path through a temporary file and a rename,
// so a reader or a crash never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

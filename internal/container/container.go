package container

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
)

// State is the container's lifecycle state as docker records it. The
// booleans are redundant with Status but are what clients read, so they
// are kept in step by the transition methods on Container.
type State struct {
	Status     container.ContainerState
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	// RemovalInProgress is true while a remove runs (Status "removing").
	RemovalInProgress bool
	Pid               int
	ExitCode          int
	Error             string
	StartedAt         time.Time
	FinishedAt        time.Time
	Health            *container.Health `json:",omitempty"`
}

// Container is one container's record: what config.v2.json holds.
// Fields are read and written under mu by the methods of this package;
// callers that touch them directly hold Lock.
type Container struct {
	mu      sync.Mutex
	saveSeq uint64 // the Store's write sequence of this record (under mu)
	// The Store's writes of the record: one at a time, the newest data
	// only (written is its sequence), none once deleted.
	writeMu sync.Mutex
	written uint64
	deleted atomic.Bool

	ID         string
	Name       string // with docker's leading "/"
	Created    time.Time
	Path       string
	Args       []string
	Image      string // the image ID (sha256:...)
	ImageRef   string // what the user asked for, shown by list
	Config     *container.Config
	HostConfig *container.HostConfig
	State      State

	RestartCount int
	// HasBeenStartedBefore and HasBeenManuallyStopped drive restart
	// policies (unless-stopped) the way docker's fields do.
	HasBeenStartedBefore   bool
	HasBeenManuallyStopped bool

	Driver         string
	LogPath        string
	ResolvConfPath string
	HostnamePath   string
	HostsPath      string
	ExecIDs        []string `json:",omitempty"`
	// NetworkSettings are the container's networks (by name) as configured
	// at create and by connect, and while it runs the operational data:
	// sandbox, addresses, published ports. Nil for records made before
	// networking, and for container:<id> modes.
	NetworkSettings *container.NetworkSettings `json:",omitempty"`
	// Volumes are the volumes (and the binds shared by --volumes-from)
	// resolved at create: named and anonymous -v, --mount type=volume,
	// the image's VOLUME paths.
	Volumes []VolumeMount `json:",omitempty"`
}

// Lock and Unlock guard the record for callers that read or change
// fields directly.
func (c *Container) Lock()   { c.mu.Lock() }
func (c *Container) Unlock() { c.mu.Unlock() }

// NewID returns a random 64-hex container ID whose 12-char short form is
// not all digits (docker avoids those so a short ID is never taken for a
// number).
func NewID() string {
	b := make([]byte, 32)
	for {
		if _, err := rand.Read(b); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		id := hex.EncodeToString(b)
		if strings.Trim(id[:12], "0123456789") != "" {
			return id
		}
	}
}

// ShortID is the 12-character form of a container ID.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

var (
	validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	validID   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidateName checks a user-given name against docker's rule and returns
// it with the leading "/". The error is invalid-parameter with docker's text.
func ValidateName(name string) (string, error) {
	if !validName.MatchString(name) {
		return "", invalid(fmt.Sprintf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name))
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return name, nil
}

// New makes a record in state "created". name must already be valid
// (ValidateName) and unique (Store.Add checks).
func New(id, name string, cfg *container.Config, hc *container.HostConfig, now time.Time) *Container {
	if cfg == nil {
		cfg = &container.Config{}
	}
	if hc == nil {
		hc = &container.HostConfig{}
	}
	var args []string
	cmd := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	path := ""
	if len(cmd) > 0 {
		path, args = cmd[0], cmd[1:]
	}
	if args == nil {
		args = []string{}
	}
	return &Container{
		ID: id, Name: name, Created: now.UTC(), Path: path, Args: args,
		Config: cfg, HostConfig: hc,
		State: State{Status: container.StateCreated},
	}
}

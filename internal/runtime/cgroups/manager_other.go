//go:build !linux

package cgroups

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// State is what a runtime invocation saves to rebuild the Manager; cgroups
// exist only on Linux, so here it carries nothing.
type State struct{}

// Manager is unusable off Linux: New and Load fail.
type Manager struct{}

var errNotLinux = fmt.Errorf("cgroups: %w on this OS", errors.ErrUnsupported)

// IsV2 is false: there are no cgroups off Linux.
func IsV2() bool { return false }

// New fails off Linux.
func New(string, *specs.Spec, Options) (*Manager, error) { return nil, errNotLinux }

// Load fails off Linux.
func Load(State) (*Manager, error) { return nil, errNotLinux }

func (*Manager) State() State                       { return State{} }
func (*Manager) Apply(int) error                    { return errNotLinux }
func (*Manager) Create() error                      { return errNotLinux }
func (*Manager) SelfJoin() ([]string, string)       { return nil, "" }
func (*Manager) Add(int) error                      { return errNotLinux }
func (*Manager) Update(*specs.LinuxResources) error { return errNotLinux }
func (*Manager) Pids() ([]int, error)               { return nil, errNotLinux }
func (*Manager) Freeze() error                      { return errNotLinux }
func (*Manager) Thaw() error                        { return errNotLinux }
func (*Manager) FreezerState() (string, error)      { return "", errNotLinux }
func (*Manager) Stats() (*Stats, error)             { return nil, errNotLinux }
func (*Manager) OOMKillCount() (uint64, error)      { return 0, errNotLinux }
func (*Manager) Destroy() error                     { return errNotLinux }
func (*Manager) Paths() map[string]string           { return nil }

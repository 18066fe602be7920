//go:build !linux

package daemon

import (
	"errors"
	"os"
)

func lockRoot(string) (*os.File, error) { return nil, errors.New("berthd runs on Linux only") }

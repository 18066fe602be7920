package cli

import (
	"errors"

	"github.com/berth-engine/berth/internal/runtime/container"
)

func isNotExist(err error) bool { return errors.Is(err, container.ErrNotExist) }

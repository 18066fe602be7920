package mount

import (
	"context"
	"fmt"
	"os"
)

// Mount is one mount(2) call: an overlay with its lowerdir/upperdir/workdir
// options, or a bind mount ("bind" or "rbind" in Options, "ro" to make it
// read-only).
type Mount struct {
	Type    string
	Source  string
	Options []string
}

// WithTempMount mounts ms on a fresh temporary directory, calls fn with it,
// then unmounts and removes the directory, whatever fn returned.
func WithTempMount(ctx context.Context, ms []Mount, fn func(root string) error) (err error) {
	dir, err := os.MkdirTemp("", "berth-mount-")
	if err != nil {
		return err
	}
	defer func() {
		if uerr := UnmountAll(dir); uerr != nil && err == nil {
			err = uerr
		}
		if rerr := os.Remove(dir); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if err := All(ms, dir); err != nil {
		return fmt.Errorf("mount %s: %w", dir, err)
	}
	return fn(dir)
}

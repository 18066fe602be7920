package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config describes the filesystem the container gets.
type Config struct {
	// Rootfs is the absolute, cleaned host path of the root filesystem
	// (spec.Root.Path resolved against the bundle).
	Rootfs string
	// Spec supplies Mounts, Root.Readonly, Linux.Devices,
	// Linux.RootfsPropagation, Linux.MaskedPaths and Linux.ReadonlyPaths.
	Spec *specs.Spec
	// NoPivot uses MS_MOVE + chroot instead of pivot_root (runc's --no-pivot).
	NoPivot bool
	// UserNS says a new user namespace was created: mknod is impossible, so
	// device nodes are bind-mounted from the host instead.
	UserNS bool
	// CgroupNS says the container has its own cgroup namespace.
	CgroupNS bool
	// Bundle is the directory relative bind-mount sources are resolved
	// against, as the runtime-spec asks; "" means the working directory
	// (runc's behaviour, since runc runs in the bundle).
	Bundle string
	// NoMountNS says the init did not get a mount namespace of its own (the
	// spec lists none, so it is inherited from the runtime): everything is
	// mounted in the runtime's namespace, under a private bind of Rootfs
	// onto itself, the propagation of "/" is left alone, Pivot chroots
	// (NoPivot is ignored) and Cleanup must remove the mounts when the
	// container is deleted. Cannot be combined with UserNS.
	NoMountNS bool
}

// check validates what every entry point relies on.
func (c *Config) check() error {
	if c == nil || c.Spec == nil {
		return errors.New("rootfs: config has no spec")
	}
	if !filepath.IsAbs(c.Rootfs) || filepath.Clean(c.Rootfs) != c.Rootfs || c.Rootfs == "/" {
		return fmt.Errorf("rootfs: %q must be an absolute, clean path other than /", c.Rootfs)
	}
	if c.NoMountNS && c.UserNS {
		// The inherited mount namespace belongs to the parent user
		// namespace: every mount would fail with EPERM.
		return errors.New("rootfs: a container in a new user namespace needs a mount namespace of its own")
	}
	return nil
}

func (c *Config) readonlyRoot() bool {
	return c.Spec.Root != nil && c.Spec.Root.Readonly
}

func (c *Config) rootPropagation() string {
	if c.Spec.Linux == nil {
		return ""
	}
	return c.Spec.Linux.RootfsPropagation
}

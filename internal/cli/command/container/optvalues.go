package container

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// The flag values below validate as they are set, so pflag reports a bad
// value the way docker does: invalid argument "x" for "--flag" flag: why
// (exit status 125).

// memBytes is a size with a unit suffix (64m, 1g).
type memBytes int64

func (m *memBytes) Set(s string) error {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return err
	}
	*m = memBytes(n)
	return nil
}
func (m *memBytes) String() string {
	if *m == 0 {
		return ""
	}
	return units.BytesSize(float64(*m))
}
func (m *memBytes) Type() string { return "bytes" }

// memSwapBytes is a memBytes where -1 means unlimited swap.
type memSwapBytes int64

func (m *memSwapBytes) Set(s string) error {
	if s == "-1" {
		*m = -1
		return nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil {
		return err
	}
	*m = memSwapBytes(n)
	return nil
}
func (m *memSwapBytes) String() string {
	if *m <= 0 {
		return ""
	}
	return units.BytesSize(float64(*m))
}
func (m *memSwapBytes) Type() string { return "bytes" }

// nanoCPUs is a decimal CPU count sent in billionths.
type nanoCPUs int64

func (n *nanoCPUs) Set(s string) error {
	v, err := parseNanoCPUs(s)
	if err != nil {
		return err
	}
	*n = nanoCPUs(v)
	return nil
}
func (n *nanoCPUs) String() string {
	if *n == 0 {
		return ""
	}
	return big.NewRat(int64(*n), 1e9).FloatString(3)
}
func (n *nanoCPUs) Type() string { return "decimal" }

func parseNanoCPUs(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("failed to parse %v as a rational number", s)
	}
	nano := r.Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, errors.New("value is too precise")
	}
	return nano.Num().Int64(), nil
}

// attachOpt is the list of streams -a names, lower-cased.
type attachOpt []string

func (a *attachOpt) Set(s string) error {
	v := strings.ToLower(s)
	switch v {
	case "stdin", "stdout", "stderr":
		*a = append(*a, v)
		return nil
	}
	return errors.New("valid streams are STDIN, STDOUT and STDERR")
}
func (a *attachOpt) String() string {
	if len(*a) == 0 {
		return ""
	}
	return "[" + strings.Join(*a, " ") + "]"
}
func (a *attachOpt) Type() string { return "list" }

func (a attachOpt) has(stream string) bool {
	for _, s := range a {
		if s == stream {
			return true
		}
	}
	return false
}

// ulimitOpt is the set of --ulimit values; a later value for a name
// replaces an earlier one.
type ulimitOpt []*container.Ulimit

func (u *ulimitOpt) Set(s string) error {
	l, err := units.ParseUlimit(s)
	if err != nil {
		return err
	}
	for i, old := range *u {
		if old.Name == l.Name {
			(*u)[i] = l
			return nil
		}
	}
	*u = append(*u, l)
	return nil
}
func (u *ulimitOpt) String() string {
	s := make([]string, len(*u))
	for i, l := range *u {
		s[i] = l.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}
func (u *ulimitOpt) Type() string { return "ulimit" }

// mapOpt collects key=value pairs (a bare key maps to ""), optionally
// validating each.
type mapOpt struct {
	values   map[string]string
	validate func(string) error
}

func (m *mapOpt) Set(s string) error {
	if m.validate != nil {
		if err := m.validate(s); err != nil {
			return err
		}
	}
	if m.values == nil {
		m.values = map[string]string{}
	}
	k, v, _ := strings.Cut(s, "=")
	m.values[k] = v
	return nil
}
func (m *mapOpt) String() string { return fmt.Sprintf("%v", m.values) }
func (m *mapOpt) Type() string   { return "map" }

// validateSysctl accepts the namespaced sysctls docker lets a container
// set: the IPC ones and the net. and fs.mqueue. trees.
func validateSysctl(s string) error {
	name, _, ok := strings.Cut(s, "=")
	if ok {
		switch name {
		case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
			"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
			return nil
		}
		if strings.HasPrefix(name, "net.") || strings.HasPrefix(name, "fs.mqueue.") {
			return nil
		}
	}
	return fmt.Errorf("sysctl '%s' is not allowed", s)
}

// mountOpt is the list of --mount values, each a CSV of key=value fields.
type mountOpt []mount.Mount

func (o *mountOpt) Type() string { return "mount" }
func (o *mountOpt) String() string {
	s := make([]string, len(*o))
	for i, m := range *o {
		s[i] = fmt.Sprintf("%s %s:%s", m.Type, m.Source, m.Target)
	}
	return strings.Join(s, ", ")
}

func (o *mountOpt) Set(value string) error {
	fields, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil {
		return err
	}
	m := mount.Mount{}
	bind := func() *mount.BindOptions {
		if m.BindOptions == nil {
			m.BindOptions = &mount.BindOptions{}
		}
		return m.BindOptions
	}
	vol := func() *mount.VolumeOptions {
		if m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{}
		}
		return m.VolumeOptions
	}
	tmpfs := func() *mount.TmpfsOptions {
		if m.TmpfsOptions == nil {
			m.TmpfsOptions = &mount.TmpfsOptions{}
		}
		return m.TmpfsOptions
	}
	for _, field := range fields {
		key, val, hasValue := strings.Cut(field, "=")
		key = strings.ToLower(key)
		if !hasValue {
			switch key {
			case "readonly", "ro":
				m.ReadOnly = true
			case "volume-nocopy":
				vol().NoCopy = true
			case "bind-nonrecursive":
				bind().NonRecursive = true
			default:
				return fmt.Errorf("invalid field '%s' must be a key=value pair", field)
			}
			continue
		}
		invalid := fmt.Errorf("invalid value for %s: %s", key, val)
		boolean := func(dst *bool) error {
			b, err := strconv.ParseBool(val)
			if err != nil {
				return invalid
			}
			*dst = b
			return nil
		}
		switch key {
		case "type":
			m.Type = mount.Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			err = boolean(&m.ReadOnly)
		case "consistency":
			m.Consistency = mount.Consistency(strings.ToLower(val))
		case "bind-propagation":
			bind().Propagation = mount.Propagation(strings.ToLower(val))
		case "bind-nonrecursive":
			err = boolean(&bind().NonRecursive)
		case "bind-recursive":
			switch val {
			case "enabled":
				bind()
			case "disabled":
				bind().NonRecursive = true
			case "writable":
				bind().ReadOnlyNonRecursive = true
			case "readonly":
				bind().ReadOnlyForceRecursive = true
			default:
				return fmt.Errorf(`invalid value for %s: %s (must be "enabled", "disabled", "writable", or "readonly")`, key, val)
			}
		case "volume-nocopy":
			err = boolean(&vol().NoCopy)
		case "volume-subpath":
			vol().Subpath = val
		case "volume-driver":
			if vol().DriverConfig == nil {
				vol().DriverConfig = &mount.Driver{}
			}
			vol().DriverConfig.Name = val
		case "volume-label":
			if vol().Labels == nil {
				vol().Labels = map[string]string{}
			}
			k, v, _ := strings.Cut(val, "=")
			vol().Labels[k] = v
		case "volume-opt":
			if vol().DriverConfig == nil {
				vol().DriverConfig = &mount.Driver{}
			}
			if vol().DriverConfig.Options == nil {
				vol().DriverConfig.Options = map[string]string{}
			}
			k, v, _ := strings.Cut(val, "=")
			vol().DriverConfig.Options[k] = v
		case "tmpfs-size":
			n, perr := units.RAMInBytes(val)
			if perr != nil {
				return invalid
			}
			tmpfs().SizeBytes = n
		case "tmpfs-mode":
			n, perr := strconv.ParseUint(val, 8, 32)
			if perr != nil {
				return invalid
			}
			tmpfs().Mode = os.FileMode(n)
		default:
			return fmt.Errorf("unexpected key '%s' in '%s'", key, field)
		}
		if err != nil {
			return err
		}
	}
	if m.Type == "" {
		m.Type = mount.TypeVolume
	}
	if m.Target == "" {
		return errors.New("target is required")
	}
	if m.VolumeOptions != nil && m.Type != mount.TypeVolume {
		return fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", m.Type)
	}
	if m.BindOptions != nil && m.Type != mount.TypeBind {
		return fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", m.Type)
	}
	if m.TmpfsOptions != nil && m.Type != mount.TypeTmpfs {
		return fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", m.Type)
	}
	*o = append(*o, m)
	return nil
}

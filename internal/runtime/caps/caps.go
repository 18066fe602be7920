package caps

import (
	"fmt"
	"strings"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mask is a capability set as the kernel stores it: bit n is capability n.
type mask uint64

func (m mask) has(c capability.Cap) bool { return m&(1<<uint(c)) != 0 }

// sets is process.capabilities resolved against the running kernel.
type sets struct {
	bounding, effective, permitted, inheritable, ambient mask
}

// capName is the spec's spelling of c: "CAP_NET_ADMIN".
func capName(c capability.Cap) string {
	return "CAP_" + strings.ToUpper(c.String())
}

// resolve maps the names in c to masks. Names unknown to the capability
// package, and capabilities above last (the running kernel's highest), are
// left out and reported once each in warnings. A nil c is all-empty.
func resolve(c *specs.LinuxCapabilities, last capability.Cap) (sets, []string) {
	var s sets
	if c == nil {
		return s, nil
	}
	known := make(map[string]capability.Cap)
	for _, k := range capability.ListKnown() {
		known[capName(k)] = k
	}
	var warnings []string
	warned := make(map[string]bool)
	conv := func(names []string) mask {
		var m mask
		for _, n := range names {
			k, ok := known[n]
			switch {
			case !ok:
				if !warned[n] {
					warned[n] = true
					warnings = append(warnings, fmt.Sprintf("unknown capability %q ignored", n))
				}
			case k > last:
				if !warned[n] {
					warned[n] = true
					warnings = append(warnings, fmt.Sprintf("capability %s is not supported by the running kernel (last is %s), ignored", n, capName(last)))
				}
			default:
				m |= 1 << uint(k)
			}
		}
		return m
	}
	s.bounding = conv(c.Bounding)
	s.effective = conv(c.Effective)
	s.permitted = conv(c.Permitted)
	s.inheritable = conv(c.Inheritable)
	s.ambient = conv(c.Ambient)
	return s, warnings
}

// check reports the combinations the kernel would refuse, naming the
// capability, before anything is changed.
func (s sets) check(last capability.Cap) error {
	for c := capability.Cap(0); c <= last; c++ {
		if s.effective.has(c) && !s.permitted.has(c) {
			return fmt.Errorf("capability %s is in the effective set but not in the permitted set", capName(c))
		}
		if s.ambient.has(c) && !(s.permitted.has(c) && s.inheritable.has(c)) {
			return fmt.Errorf("ambient capability %s must also be in the permitted and inheritable sets", capName(c))
		}
	}
	return nil
}

// Validate reports names in c that are not capabilities at all, so a typo
// fails `create` (the spec: a value that cannot be mapped to the kernel
// MUST be an error). Capabilities that exist but are newer than the running
// kernel pass: Apply leaves them out with a warning, as runc does.
func Validate(c *specs.LinuxCapabilities) error {
	if c == nil {
		return nil
	}
	known := make(map[string]bool)
	for _, k := range capability.ListKnown() {
		known[capName(k)] = true
	}
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		for _, n := range set {
			if !known[n] {
				return fmt.Errorf("unknown capability %q", n)
			}
		}
	}
	return nil
}

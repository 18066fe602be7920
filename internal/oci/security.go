//go:build linux

package oci

import (
	"slices"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// securityOpts is HostConfig.SecurityOpt parsed.
type securityOpts struct {
	noNewPrivs      bool
	seccomp         string // "" (default profile), "unconfined", or a JSON profile
	systemPathsOpen bool   // systempaths=unconfined: no masked/readonly paths
}

// parseSecurityOpts accepts docker's keys, "key=value" or the old
// "key:value": no-new-privileges[=bool], seccomp=unconfined|builtin|<JSON>
// (the docker CLI sends a profile file's content, not its path),
// systempaths=unconfined, and apparmor= / label= which are accepted and
// ignored as on a host with neither AppArmor nor SELinux.
func parseSecurityOpts(in []string) (securityOpts, error) {
	var o securityOpts
	for _, opt := range in {
		if opt == "no-new-privileges" {
			o.noNewPrivs = true
			continue
		}
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			k, v, ok = strings.Cut(opt, ":")
		}
		if !ok {
			return o, invalidf("invalid --security-opt 1: %q", opt)
		}
		switch k {
		case "no-new-privileges":
			switch v {
			case "true", "1":
				o.noNewPrivs = true
			case "false", "0":
				o.noNewPrivs = false
			default:
				return o, invalidf("invalid --security-opt 2: %q", opt)
			}
		case "seccomp":
			switch {
			case v == "unconfined" || v == "builtin" || v == "":
				if v == "unconfined" {
					o.seccomp = v
				}
			case strings.HasPrefix(strings.TrimSpace(v), "{"):
				o.seccomp = v
			default:
				return o, invalidf("seccomp profile must be given as JSON content (the client reads the file), got %q", v)
			}
		case "systempaths":
			if v != "unconfined" {
				return o, invalidf("invalid --security-opt 2: %q", opt)
			}
			o.systemPathsOpen = true
		case "apparmor", "label":
		default:
			return o, invalidf("invalid --security-opt 1: %q", opt)
		}
	}
	return o, nil
}

// security sets capabilities, no_new_privs, masked/readonly paths and the
// seccomp filter. Privileged means the host's whole bounding set, no
// seccomp and no masked or readonly paths.
func (b *builder) security() error {
	hc := b.hc
	so, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return err
	}
	caps, err := capabilities(hc, b.host)
	if err != nil {
		return err
	}
	b.s.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding:  caps,
		Effective: caps,
		Permitted: caps,
	}
	b.s.Process.NoNewPrivileges = so.noNewPrivs
	if !hc.Privileged && !so.systemPathsOpen {
		b.s.Linux.MaskedPaths = slices.Clone(DefaultMaskedPaths)
		if hc.MaskedPaths != nil {
			b.s.Linux.MaskedPaths = slices.Clone(hc.MaskedPaths)
		}
		b.s.Linux.ReadonlyPaths = slices.Clone(DefaultReadonlyPaths)
		if hc.ReadonlyPaths != nil {
			b.s.Linux.ReadonlyPaths = slices.Clone(hc.ReadonlyPaths)
		}
	}
	if hc.Privileged || so.seccomp == "unconfined" {
		return nil
	}
	var prof *specs.LinuxSeccomp
	if so.seccomp == "" {
		prof, err = seccomp.GetDefaultProfile(b.s)
	} else {
		prof, err = seccomp.LoadProfile(so.seccomp, b.s)
		if err != nil {
			return invalidf("invalid seccomp profile: %v", err)
		}
	}
	if err != nil {
		return err
	}
	b.s.Linux.Seccomp = prof
	return nil
}

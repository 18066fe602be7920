// Package config is berthd's configuration: daemon.json with Docker's keys
// where they exist, merged with command-line flags as dockerd does (a key
// unknown to us, or given both in the file and as a flag, is an error).
// It holds plain data and validation only; it imports nothing of ours.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/system"
)

// Defaults of the fields that have one.
const (
	DefaultDataRoot = "/var/lib/berth"
	DefaultExecRoot = "/run/berth"
	DefaultHost     = "unix:///run/berth/berth.sock"
	DefaultConfig   = "/etc/berth/daemon.json"
	DefaultRuntime  = "berth-runtime"
	DefaultBridge   = "berth0"
)

// Config is berthd's configuration. The json tags are daemon.json's keys
// (Docker's names); every key the file may hold is a field here.
type Config struct {
	DataRoot      string   `json:"data-root,omitempty"`
	ExecRoot      string   `json:"exec-root,omitempty"`
	Hosts         []string `json:"hosts,omitempty"`
	Pidfile       string   `json:"pidfile,omitempty"`
	Debug         bool     `json:"debug,omitempty"`
	LogLevel      string   `json:"log-level,omitempty"`
	LogFormat     string   `json:"log-format,omitempty"`
	Group         string   `json:"group,omitempty"`
	LiveRestore   bool     `json:"live-restore,omitempty"`
	StorageDriver string   `json:"storage-driver,omitempty"`

	LogDriver string            `json:"log-driver,omitempty"`
	LogOpts   map[string]string `json:"log-opts,omitempty"`

	Runtimes       map[string]system.Runtime `json:"runtimes,omitempty"`
	DefaultRuntime string                    `json:"default-runtime,omitempty"`

	// Init runs every container whose HostConfig.Init is unset with the
	// init binary as PID 1; InitPath is that binary (default: berth-init
	// beside berthd, else in PATH).
	Init     bool   `json:"init,omitempty"`
	InitPath string `json:"init-path,omitempty"`

	Bip                 string                      `json:"bip,omitempty"`
	DefaultAddressPools []system.NetworkAddressPool `json:"default-address-pools,omitempty"`
	DNS                 []string                    `json:"dns,omitempty"`
	DNSOptions          []string                    `json:"dns-opts,omitempty"`
	DNSSearch           []string                    `json:"dns-search,omitempty"`
	// Bridge is the default bridge's host interface (dockerd's -b, whose
	// "none" disables the default bridge there; berth keeps it); default
	// berth0. FixedCIDR is its ip-range, MTU its MTU.
	Bridge    string `json:"bridge,omitempty"`
	FixedCIDR string `json:"fixed-cidr,omitempty"`
	MTU       int    `json:"mtu,omitempty"`
	// IPTables false leaves the host's firewall alone (no rules at all);
	// FirewallBackend is "iptables" (default) or "nftables", docker 28's key.
	IPTables        *bool  `json:"iptables,omitempty"`
	FirewallBackend string `json:"firewall-backend,omitempty"`
	// ICC and IPMasq are the default bridge's enable_icc and
	// enable_ip_masquerade (dockerd's --icc, --ip-masq); nil means true.
	ICC    *bool `json:"icc,omitempty"`
	IPMasq *bool `json:"ip-masq,omitempty"`

	InsecureRegistries []string `json:"insecure-registries,omitempty"`
	RegistryMirrors    []string `json:"registry-mirrors,omitempty"`
}

// Load reads the daemon.json at path (a missing file reads as empty),
// applies defaults, then the flags: flags holds the flag values and set the
// daemon.json keys of the flags the user gave. A key both in the file and in
// set is an error, as with dockerd. Runtimes from the file and from flags
// (--add-runtime) are merged; one name in both is an error.
func Load(path string, flags *Config, set []string) (*Config, error) {
	cfg := &Config{}
	var fileKeys map[string]json.RawMessage
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("unable to configure the daemon with file %s: %w", path, err)
	default:
		if fileKeys, err = parse(data, cfg); err != nil {
			return nil, fmt.Errorf("unable to configure the daemon with file %s: %w", path, err)
		}
	}

	var conflicts []string
	dst, src := reflect.ValueOf(cfg).Elem(), reflect.ValueOf(flags).Elem()
	for _, key := range set {
		i, ok := fieldIndex(key)
		if !ok {
			return nil, fmt.Errorf("config: flag key %q is not a configuration option", key)
		}
		if raw, inFile := fileKeys[key]; inFile {
			conflicts = append(conflicts, fmt.Sprintf("%s: (from flag: %v, from file: %s)", key, src.Field(i).Interface(), bytes.TrimSpace(raw)))
			continue
		}
		dst.Field(i).Set(src.Field(i))
	}
	if len(conflicts) > 0 {
		slices.Sort(conflicts)
		return nil, fmt.Errorf("unable to configure the daemon with file %s: the following directives are specified both as a flag and in the configuration file: %s", path, strings.Join(conflicts, ", "))
	}
	for name, rt := range flags.Runtimes {
		if _, dup := cfg.Runtimes[name]; dup {
			return nil, fmt.Errorf("runtime %q is given both by --add-runtime and in %s", name, path)
		}
		if cfg.Runtimes == nil {
			cfg.Runtimes = map[string]system.Runtime{}
		}
		cfg.Runtimes[name] = rt
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parse decodes daemon.json into cfg and returns its top-level keys; a key
// that is no field of Config is an error naming all such keys.
func parse(data []byte, cfg *Config) (map[string]json.RawMessage, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, err
	}
	var unknown []string
	for k := range keys {
		if _, ok := fieldIndex(k); !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("the following directives don't match any configuration option: %s", strings.Join(unknown, ", "))
	}
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, err
	}
	return keys, nil
}

func fieldIndex(key string) (int, bool) {
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == key {
			return i, true
		}
	}
	return 0, false
}

func (c *Config) setDefaults() {
	if c.DataRoot == "" {
		c.DataRoot = DefaultDataRoot
	}
	if c.ExecRoot == "" {
		c.ExecRoot = DefaultExecRoot
	}
	if len(c.Hosts) == 0 {
		c.Hosts = []string{DefaultHost}
	}
	if c.Pidfile == "" {
		c.Pidfile = c.ExecRoot + "/berthd.pid"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Debug {
		c.LogLevel = "debug"
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.LogDriver == "" {
		c.LogDriver = "json-file"
	}
	if c.StorageDriver == "" {
		c.StorageDriver = "overlay2"
	}
	if c.DefaultRuntime == "" {
		c.DefaultRuntime = DefaultRuntime
	}
	if c.Bridge == "" {
		c.Bridge = DefaultBridge
	}
}

// Validate checks values that Load cannot type-check. The runtime named
// berth-runtime need not be configured: the daemon finds it beside itself.
func (c *Config) Validate() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error", "fatal":
	default:
		return fmt.Errorf("unable to parse logging level: %s", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("unsupported log format: %s (text or json)", c.LogFormat)
	}
	if c.LogDriver != "json-file" && c.LogDriver != "none" {
		return fmt.Errorf("logging driver %q is not supported: berth has json-file and none", c.LogDriver)
	}
	if c.StorageDriver != "overlay2" {
		return fmt.Errorf("storage driver %q is not supported: berth has overlay2 only", c.StorageDriver)
	}
	for name, rt := range c.Runtimes {
		if name == "" || rt.Path == "" {
			return fmt.Errorf("runtime %q: a runtime needs a name and a path", name)
		}
	}
	if c.Bip != "" {
		if p, err := netip.ParsePrefix(c.Bip); err != nil || !p.Addr().Is4() || p.Addr() == p.Masked().Addr() {
			return fmt.Errorf("invalid bip %q: want the bridge's IPv4 address with its prefix length, such as 10.20.0.1/24", c.Bip)
		}
	}
	if c.FixedCIDR != "" {
		if _, err := netip.ParsePrefix(c.FixedCIDR); err != nil {
			return fmt.Errorf("invalid fixed-cidr %q: %v", c.FixedCIDR, err)
		}
	}
	if len(c.Bridge) > 15 {
		return fmt.Errorf("invalid bridge name %q: at most 15 characters", c.Bridge)
	}
	if c.MTU < 0 || c.MTU > 65535 {
		return fmt.Errorf("invalid mtu %d", c.MTU)
	}
	switch c.FirewallBackend {
	case "", "iptables", "nftables":
	default:
		return fmt.Errorf("invalid firewall-backend %q: iptables or nftables", c.FirewallBackend)
	}
	for _, p := range c.DefaultAddressPools {
		if !p.Base.IsValid() || !p.Base.Addr().Is4() || p.Size < p.Base.Bits() || p.Size > 30 {
			return fmt.Errorf("invalid default-address-pools entry %v", p)
		}
	}
	if _, ok := c.Runtimes[c.DefaultRuntime]; !ok && c.DefaultRuntime != DefaultRuntime {
		return fmt.Errorf("default runtime %q is not a configured runtime", c.DefaultRuntime)
	}
	return nil
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join(t.TempDir(), "missing.json"), &Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataRoot != DefaultDataRoot || cfg.ExecRoot != DefaultExecRoot || cfg.Hosts[0] != DefaultHost ||
		cfg.Pidfile != "/run/berth/berthd.pid" || cfg.DefaultRuntime != "berth-runtime" || cfg.LogDriver != "json-file" {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestLoadMerge(t *testing.T) {
	p := writeFile(t, `{"data-root": "/d", "debug": true, "runtimes": {"runc": {"path": "/usr/sbin/runc"}},
		"default-address-pools": [{"base": "172.30.0.0/16", "size": 24}], "log-opts": {"max-size": "10m"}}`)
	flags := &Config{ExecRoot: "/e", Runtimes: map[string]system.Runtime{"crun": {Path: "/usr/bin/crun"}}, DefaultRuntime: "runc"}
	cfg, err := Load(p, flags, []string{"exec-root", "default-runtime"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataRoot != "/d" || cfg.ExecRoot != "/e" || cfg.Pidfile != "/e/berthd.pid" || cfg.LogLevel != "debug" ||
		cfg.Runtimes["runc"].Path != "/usr/sbin/runc" || cfg.Runtimes["crun"].Path != "/usr/bin/crun" ||
		cfg.DefaultRuntime != "runc" || cfg.DefaultAddressPools[0].Size != 24 || cfg.LogOpts["max-size"] != "10m" {
		t.Fatalf("merged: %+v", cfg)
	}
}

func TestLoadNetworkKeys(t *testing.T) {
	p := writeFile(t, `{"bip": "10.20.0.1/24", "fixed-cidr": "10.20.0.128/25", "mtu": 1400, "iptables": false, "firewall-backend": "nftables", "dns": ["10.0.0.53"]}`)
	cfg, err := Load(p, &Config{Bridge: "b1"}, []string{"bridge"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bridge != "b1" || cfg.Bip != "10.20.0.1/24" || cfg.FixedCIDR != "10.20.0.128/25" || cfg.MTU != 1400 ||
		cfg.IPTables == nil || *cfg.IPTables || cfg.FirewallBackend != "nftables" || cfg.DNS[0] != "10.0.0.53" {
		t.Fatalf("network keys: %+v", cfg)
	}
	if def, _ := Load(filepath.Join(t.TempDir(), "none.json"), &Config{}, nil); def.Bridge != DefaultBridge || def.IPTables != nil {
		t.Fatalf("defaults: bridge %q iptables %v", def.Bridge, def.IPTables)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, file string
		flags      *Config
		set        []string
		want       string
	}{
		{"unknown keys", `{"data-root": "/d", "bogus": 1, "also": 2}`, &Config{}, nil,
			"the following directives don't match any configuration option: also, bogus"},
		{"flag and file", `{"data-root": "/d"}`, &Config{DataRoot: "/f"}, []string{"data-root"},
			`the following directives are specified both as a flag and in the configuration file: data-root: (from flag: /f, from file: "/d")`},
		{"malformed", `{"data-root": `, &Config{}, nil, "unexpected end of JSON input"},
		{"wrong type", `{"debug": "yes"}`, &Config{}, nil, "cannot unmarshal"},
		{"bad log level", `{"log-level": "loud"}`, &Config{}, nil, "unable to parse logging level: loud"},
		{"unknown default runtime", `{"default-runtime": "kata"}`, &Config{}, nil, `default runtime "kata"`},
		{"runtime twice", `{"runtimes": {"runc": {"path": "/a"}}}`, &Config{Runtimes: map[string]system.Runtime{"runc": {Path: "/b"}}}, nil, `runtime "runc" is given both`},
		{"other storage driver", `{"storage-driver": "vfs"}`, &Config{}, nil, `storage driver "vfs"`},
		{"bip without host address", `{"bip": "10.1.0.0/24"}`, &Config{}, nil, `invalid bip "10.1.0.0/24"`},
		{"bip not a prefix", `{"bip": "10.1.0.1"}`, &Config{}, nil, `invalid bip "10.1.0.1"`},
		{"bad fixed-cidr", `{"fixed-cidr": "nope"}`, &Config{}, nil, `invalid fixed-cidr "nope"`},
		{"long bridge name", `{"bridge": "abcdefghijklmnop"}`, &Config{}, nil, `invalid bridge name`},
		{"bad firewall backend", `{"firewall-backend": "pf"}`, &Config{}, nil, `invalid firewall-backend "pf"`},
		{"bad pool size", `{"default-address-pools": [{"base": "10.0.0.0/16", "size": 8}]}`, &Config{}, nil, `invalid default-address-pools entry`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeFile(t, c.file), c.flags, c.set)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestLoadInit: dockerd's "init" and "init-path" keys, from the file or as
// flags, one place only.
func TestLoadInit(t *testing.T) {
	cfg, err := Load(writeFile(t, `{"init": true, "init-path": "/usr/libexec/berth-init"}`), &Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Init || cfg.InitPath != "/usr/libexec/berth-init" {
		t.Fatalf("from the file: %+v", cfg)
	}
	cfg, err = Load(writeFile(t, `{}`), &Config{Init: true, InitPath: "/x"}, []string{"init", "init-path"})
	if err != nil || !cfg.Init || cfg.InitPath != "/x" {
		t.Fatalf("from flags: %+v %v", cfg, err)
	}
	if _, err := Load(writeFile(t, `{"init": false}`), &Config{Init: true}, []string{"init"}); err == nil || !strings.Contains(err.Error(), "init: (from flag: true, from file: false)") {
		t.Fatalf("init in both: %v", err)
	}
}

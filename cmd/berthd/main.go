// Command berthd is the berth daemon: the Docker Engine API over unix
// sockets. It only parses flags, loads the configuration and wires the
// daemon to the API server; the work happens in internal/daemon and
// internal/server.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/spf13/pflag"

	"github.com/berth-engine/berth/internal/atomicfile"
	"github.com/berth-engine/berth/internal/daemon"
	"github.com/berth-engine/berth/internal/daemon/config"
	"github.com/berth-engine/berth/internal/log"
	"github.com/berth-engine/berth/internal/server"
	"github.com/berth-engine/berth/internal/server/httputil"
	buildrouter "github.com/berth-engine/berth/internal/server/router/build"
	containerrouter "github.com/berth-engine/berth/internal/server/router/container"
	debugrouter "github.com/berth-engine/berth/internal/server/router/debug"
	execrouter "github.com/berth-engine/berth/internal/server/router/exec"
	imagerouter "github.com/berth-engine/berth/internal/server/router/image"
	networkrouter "github.com/berth-engine/berth/internal/server/router/network"
	systemrouter "github.com/berth-engine/berth/internal/server/router/system"
	volumerouter "github.com/berth-engine/berth/internal/server/router/volume"
	"github.com/berth-engine/berth/internal/version"
)

// shutdownTimeout bounds how long requests in flight may take after
// SIGINT/SIGTERM before their connections are closed.
const shutdownTimeout = 10 * time.Second

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "berthd: %v\n", err)
		os.Exit(1)
	}
}

// flagKeys maps a flag to its daemon.json key, for dockerd's rule that a
// setting may come from one of them only.
var flagKeys = map[string]string{
	"data-root": "data-root", "exec-root": "exec-root", "host": "hosts", "pidfile": "pidfile",
	"log-level": "log-level", "log-format": "log-format", "debug": "debug", "default-runtime": "default-runtime",
	"group": "group", "init": "init", "init-path": "init-path",
	"bridge": "bridge", "bip": "bip", "fixed-cidr": "fixed-cidr", "mtu": "mtu", "iptables": "iptables",
	"firewall-backend": "firewall-backend", "dns": "dns", "icc": "icc", "ip-masq": "ip-masq",
}

func run(args []string, stdout, stderr io.Writer) error {
	var (
		flags       config.Config
		configFile  string
		addRuntimes []string
		showVersion bool
	)
	fs := pflag.NewFlagSet("berthd", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&configFile, "config-file", config.DefaultConfig, "daemon configuration file")
	fs.StringVar(&flags.DataRoot, "data-root", config.DefaultDataRoot, "root directory of persistent state")
	fs.StringVar(&flags.ExecRoot, "exec-root", config.DefaultExecRoot, "root directory of execution state")
	fs.StringArrayVarP(&flags.Hosts, "host", "H", nil, "daemon socket to listen on, unix:///path (repeatable; default "+config.DefaultHost+")")
	fs.StringVarP(&flags.Pidfile, "pidfile", "p", "", "path of the pid file (default <exec-root>/berthd.pid)")
	fs.StringVarP(&flags.LogLevel, "log-level", "l", "info", `logging level ("debug", "info", "warn", "error", "fatal")`)
	fs.StringVar(&flags.LogFormat, "log-format", "text", `log format ("text", "json")`)
	fs.BoolVarP(&flags.Debug, "debug", "D", false, "enable debug mode")
	fs.StringVarP(&flags.Group, "group", "G", "berth", "group for the unix socket")
	fs.StringArrayVar(&addRuntimes, "add-runtime", nil, "register an OCI runtime, name=path (repeatable)")
	fs.StringVar(&flags.DefaultRuntime, "default-runtime", config.DefaultRuntime, "default OCI runtime for containers")
	fs.BoolVar(&flags.Init, "init", false, "run an init inside containers to forward signals and reap processes")
	fs.StringVar(&flags.InitPath, "init-path", "", "path to the init binary (default berth-init beside berthd, else in PATH)")
	fs.StringVarP(&flags.Bridge, "bridge", "b", config.DefaultBridge, "host interface of the default bridge network")
	fs.StringVar(&flags.Bip, "bip", "", "the default bridge's IPv4 address and prefix length (default: a free subnet of the default address pools)")
	fs.StringVar(&flags.FixedCIDR, "fixed-cidr", "", "IPv4 range for the default bridge's containers")
	fs.IntVar(&flags.MTU, "mtu", 0, "MTU of the default bridge")
	iptables := fs.Bool("iptables", true, "add firewall rules for networks and published ports")
	icc := fs.Bool("icc", true, "let containers on the default bridge talk to each other")
	ipMasq := fs.Bool("ip-masq", true, "masquerade the default bridge's outbound traffic")
	fs.StringVar(&flags.FirewallBackend, "firewall-backend", "", `firewall backend: "iptables" (default) or "nftables"`)
	fs.StringSliceVar(&flags.DNS, "dns", nil, "DNS servers for containers")
	fs.BoolVarP(&showVersion, "version", "v", false, "print version information and quit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if showVersion {
		fmt.Fprintf(stdout, "berthd version %s\n", version.Version)
		return nil
	}
	for _, r := range addRuntimes {
		name, path, ok := strings.Cut(r, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("invalid --add-runtime %q: want name=path", r)
		}
		if flags.Runtimes == nil {
			flags.Runtimes = map[string]system.Runtime{}
		}
		if _, dup := flags.Runtimes[name]; dup {
			return fmt.Errorf("--add-runtime %s given twice", name)
		}
		flags.Runtimes[name] = system.Runtime{Path: path}
	}
	if fs.Changed("iptables") {
		flags.IPTables = iptables
	}
	if fs.Changed("icc") {
		flags.ICC = icc
	}
	if fs.Changed("ip-masq") {
		flags.IPMasq = ipMasq
	}
	var set []string
	fs.Visit(func(f *pflag.Flag) {
		if key, ok := flagKeys[f.Name]; ok {
			set = append(set, key)
		}
	})
	// Flag defaults that are also daemon.json keys apply only when the
	// file does not set them: Load fills the same defaults.
	cfg, err := config.Load(configFile, &flags, set)
	if err != nil {
		return err
	}
	if !fs.Changed("group") && cfg.Group == "" {
		cfg.Group = "berth"
	}

	logger := newLogger(cfg, stderr)
	ctx := log.WithLogger(context.Background(), logger)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var socks []string
	for _, h := range cfg.Hosts {
		p, err := server.ParseHost(h, strings.TrimPrefix(config.DefaultHost, "unix://"))
		if err != nil {
			return err
		}
		socks = append(socks, p)
	}

	d, err := daemon.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()

	if err := writePidfile(cfg.Pidfile); err != nil {
		return err
	}
	defer os.Remove(cfg.Pidfile)

	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close() // also unlinks the socket
		}
	}()
	for _, s := range socks {
		l, err := server.ListenUnix(s, cfg.Group)
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
	}

	routers := []httputil.Router{systemrouter.New(d), imagerouter.New(d), containerrouter.New(d), execrouter.New(d), volumerouter.New(d), networkrouter.New(d), buildrouter.New()}
	if cfg.Debug {
		// As dockerd: the Go runtime's profiles only in debug mode.
		routers = append(routers, debugrouter.New())
	}
	srv := server.New(server.Config{Version: version.Version, Logger: logger}, routers...)
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errc <- srv.Serve(l) }()
		logger.Info("API listening", "socket", l.Addr().String())
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", shutdownTimeout)
	case err = <-errc:
		logger.Error("API server failed", "error", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		logger.Warn("requests still running at shutdown were cut off", "error", serr)
	}
	if err == nil {
		logger.Info("stopped")
	}
	return err
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch cfg.LogLevel {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error", "fatal":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// writePidfile writes our pid atomically. The data root's lock already
// guarantees no other daemon of this configuration runs.
func writePidfile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	if err := atomicfile.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	return nil
}

package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ParseHost checks a -H/--host value and returns the unix socket path it
// names. unix:// without a path means defaultSock. TCP needs mutual TLS,
// which berthd does not have yet, so tcp:// is refused.
func ParseHost(host, defaultSock string) (string, error) {
	proto, addr, ok := strings.Cut(host, "://")
	if !ok {
		// dockerd reads a bare path as a unix socket.
		proto, addr = "unix", host
	}
	switch proto {
	case "unix":
		if addr == "" {
			addr = defaultSock
		}
		if !filepath.IsAbs(addr) {
			return "", fmt.Errorf("invalid host %q: the socket path must be absolute", host)
		}
		return filepath.Clean(addr), nil
	case "tcp":
		return "", fmt.Errorf("invalid host %q: tcp hosts need mutual TLS, which berthd does not support yet; use a unix socket", host)
	default:
		return "", fmt.Errorf("invalid host %q: unsupported protocol %q (unix only)", host, proto)
	}
}

// ListenUnix listens on the unix socket path with mode 0660, owned by
// group if that group exists (our own group otherwise). A socket file left
// by a dead daemon is removed; one that still answers is an error, and so
// is any other kind of file at path.
func ListenUnix(path, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("socket %s: a file that is not a socket is in the way", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("socket %s is in use: another daemon listens on it", path)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("socket %s exists and cannot be probed: %w", path, err)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
		}
	}
	// Create the socket unreachable, then open it up: no window in which
	// it is world-connectable.
	old := syscall.Umask(0o777)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	err = os.Chmod(path, 0o660)
	if g, lerr := user.LookupGroup(group); err == nil && lerr == nil && group != "" {
		gid, _ := strconv.Atoi(g.Gid)
		err = os.Chown(path, -1, gid)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return l, nil
}

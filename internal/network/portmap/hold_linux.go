package portmap

import (
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/internal/errdefs"
)

// holdPort reserves an SCTP port with a listening socket. Go has no SCTP,
// so nothing is relayed: SCTP ports are published by the firewall's DNAT
// alone (not from the host's loopback).
func holdPort(proto string, hostAddr netip.AddrPort) (proxy, error) {
	if proto != "sctp" {
		return nil, fmt.Errorf("protocol %q: %w", proto, errdefs.ErrInvalidParameter)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return nil, errdefs.New(errdefs.ErrUnavailable, fmt.Sprintf("sctp is not available on this host: %v", err))
	}
	f := os.NewFile(uintptr(fd), "sctp")
	sa := &unix.SockaddrInet4{Port: int(hostAddr.Port()), Addr: hostAddr.Addr().As4()}
	if err := unix.Bind(fd, sa); err != nil {
		f.Close()
		return nil, fmt.Errorf("listen sctp4 %s: bind: %w", hostAddr, err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		f.Close()
		return nil, fmt.Errorf("listen sctp4 %s: %w", hostAddr, err)
	}
	return f, nil
}

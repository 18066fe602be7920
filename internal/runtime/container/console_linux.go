package container

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// dialConsoleSocket connects to the unix socket given by --console-socket
// and returns the connection as a file the init can inherit.
func dialConsoleSocket(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to console socket %s: %w", path, err)
	}
	uc := conn.(*net.UnixConn)
	f, err := uc.File()
	uc.Close()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// sendFd passes fd over the unix socket sock with SCM_RIGHTS, with name as
// the message body, as runc does for the pty master.
func sendFd(sock int, name string, fd int) error {
	oob := unix.UnixRights(fd)
	return unix.Sendmsg(sock, []byte(name), oob, nil, 0)
}

// RecvFd receives one file descriptor sent with SCM_RIGHTS on sock.
func RecvFd(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, 0)
	if err != nil {
		return nil, fmt.Errorf("receive console fd: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive console fd: no SCM_RIGHTS message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive console fd: want 1 fd, got %d", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// openPty opens a new pty pair from the devpts instance at /dev/pts inside
// the container (the init has pivoted) and returns the master and the slave's
// path.
func openPty() (*os.File, string, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, "", fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, "", fmt.Errorf("get pty number: %w", err)
	}
	return master, fmt.Sprintf("/dev/pts/%d", n), nil
}

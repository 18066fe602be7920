package command

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DefaultHost is where berthd listens unless told otherwise.
const DefaultHost = "unix:///run/berth/berth.sock"

// ResolveHost picks the daemon address: -H, then BERTH_HOST, then
// DOCKER_HOST, then DefaultHost. Like docker, at most one -H is accepted
// by the client even though the flag may be repeated.
func ResolveHost(flags []string, getenv func(string) string) (string, error) {
	var host string
	switch {
	case len(flags) > 1:
		return "", errors.New("specify only one -H")
	case len(flags) == 1:
		host = flags[0]
	case getenv("BERTH_HOST") != "":
		host = getenv("BERTH_HOST")
	case getenv("DOCKER_HOST") != "":
		host = getenv("DOCKER_HOST")
	default:
		return DefaultHost, nil
	}
	return normalizeHost(host)
}

// normalizeHost accepts docker's forms: unix:///path, a bare /path, tcp://h:p,
// and fd:// is refused.
func normalizeHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	switch {
	case strings.HasPrefix(h, "/"):
		return "unix://" + h, nil
	case strings.HasPrefix(h, "unix://"):
		if len(h) == len("unix://") {
			return DefaultHost, nil
		}
		return h, nil
	case strings.HasPrefix(h, "tcp://"), strings.HasPrefix(h, "http://"), strings.HasPrefix(h, "https://"):
		u, err := url.Parse(h)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("invalid bind address (%s)", h)
		}
		return h, nil
	case !strings.Contains(h, "://"):
		return "tcp://" + h, nil
	}
	return "", fmt.Errorf("invalid bind address format: %s", h)
}

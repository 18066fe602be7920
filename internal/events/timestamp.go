package events

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a since or until value as docker accepts them: Unix
// seconds with an optional fraction ("1700000000.5", what the docker CLI
// sends), an RFC 3339 time (with or without fractional seconds or zone;
// without a zone it is local time), a date ("2006-01-02"), or a Go
// duration counted back from now ("10m", "1h30m"). Empty is the zero time.
func ParseTime(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	// "0" parses as a duration too, but means the epoch, as in docker.
	if d, err := time.ParseDuration(v); err == nil && v != "0" {
		return now.Add(-d), nil
	}
	if sec, frac, ok := strings.Cut(v, "."); ok || isDigits(sec) {
		if n, err := strconv.ParseInt(sec, 10, 64); err == nil && (!ok || isDigits(frac)) {
			var nsec int64
			if frac != "" {
				nsec, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			}
			return time.Unix(n, nsec), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time value: %s", v)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

package image

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// ApplyChanges applies Dockerfile-style changes (docker import --change) to
// cfg. Accepted: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER,
// VOLUME, WORKDIR. Anything else, or a malformed argument, fails with
// ErrInvalidParameter.
func ApplyChanges(cfg *dockerspec.DockerOCIImageConfig, changes []string) error {
	for _, c := range changes {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		instr, rest, _ := strings.Cut(c, " ")
		if i := strings.IndexAny(instr, "\t"); i >= 0 {
			instr, rest = instr[:i], instr[i+1:]+" "+rest
		}
		rest = strings.TrimSpace(rest)
		instr = strings.ToUpper(instr)
		if err := applyChange(cfg, instr, rest); err != nil {
			return err
		}
	}
	return nil
}

func applyChange(cfg *dockerspec.DockerOCIImageConfig, instr, rest string) error {
	switch instr {
	case "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR":
	default:
		return invalidf(fmt.Sprintf("%s is not a valid change command", strings.ToLower(instr)))
	}
	if rest == "" {
		return invalidf(fmt.Sprintf("%s requires at least one argument", instr))
	}
	switch instr {
	case "CMD", "ENTRYPOINT":
		args, err := commandArgs(instr, rest)
		if err != nil {
			return err
		}
		if instr == "CMD" {
			cfg.Cmd = args
		} else {
			cfg.Entrypoint = args
			cfg.Cmd = nil // as in a Dockerfile: a new entrypoint resets CMD
		}
	case "ENV":
		pairs, err := keyValues(instr, rest)
		if err != nil {
			return err
		}
		for _, kv := range pairs {
			cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
		}
	case "LABEL":
		pairs, err := keyValues(instr, rest)
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range pairs {
			cfg.Labels[kv[0]] = kv[1]
		}
	case "EXPOSE":
		words, err := splitWords(rest)
		if err != nil {
			return invalidf(fmt.Sprintf("EXPOSE: %v", err))
		}
		for _, w := range words {
			p, err := exposedPort(w)
			if err != nil {
				return err
			}
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case "VOLUME":
		var vols []string
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &vols); err != nil {
				return invalidf(fmt.Sprintf("VOLUME: invalid JSON array %s", rest))
			}
		} else {
			var err error
			if vols, err = splitWords(rest); err != nil {
				return invalidf(fmt.Sprintf("VOLUME: %v", err))
			}
		}
		for _, v := range vols {
			if strings.TrimSpace(v) == "" {
				return invalidf("VOLUME specified can not be an empty string")
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[v] = struct{}{}
		}
	case "WORKDIR":
		w, err := oneWord(instr, rest)
		if err != nil {
			return err
		}
		if !path.IsAbs(w) {
			base := cfg.WorkingDir
			if base == "" {
				base = "/"
			}
			w = path.Join(base, w)
		}
		cfg.WorkingDir = path.Clean(w)
	case "USER":
		u, err := oneWord(instr, rest)
		if err != nil {
			return err
		}
		cfg.User = u
	case "STOPSIGNAL":
		s, err := oneWord(instr, rest)
		if err != nil {
			return err
		}
		if !validSignal(s) {
			return invalidf(fmt.Sprintf("Invalid signal: %s", s))
		}
		cfg.StopSignal = s
	}
	return nil
}

func commandArgs(instr, rest string) ([]string, error) {
	if strings.HasPrefix(rest, "[") {
		var args []string
		if err := json.Unmarshal([]byte(rest), &args); err == nil {
			return args, nil
		}
		// Not JSON: docker falls back to the shell form too.
	}
	return []string{"/bin/sh", "-c", rest}, nil
}

func oneWord(instr, rest string) (string, error) {
	words, err := splitWords(rest)
	if err != nil {
		return "", invalidf(fmt.Sprintf("%s: %v", instr, err))
	}
	if len(words) != 1 {
		return "", invalidf(fmt.Sprintf("%s requires exactly one argument", instr))
	}
	return words[0], nil
}

// keyValues parses "k=v k2='v 2'" or the legacy "k some value".
func keyValues(instr, rest string) ([][2]string, error) {
	words, err := splitWords(rest)
	if err != nil {
		return nil, invalidf(fmt.Sprintf("%s: %v", instr, err))
	}
	if !strings.Contains(firstRaw(rest), "=") {
		k, v, _ := strings.Cut(rest, " ")
		if k == "" || strings.TrimSpace(v) == "" {
			return nil, invalidf(fmt.Sprintf("%s must have two arguments", instr))
		}
		return [][2]string{{k, strings.TrimSpace(v)}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, invalidf(fmt.Sprintf("%s names can not be blank and must be key=value: %q", instr, w))
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func firstRaw(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// splitWords splits s on unquoted blanks, removing quotes and backslash
// escapes the way a Dockerfile's ENV and LABEL do.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == '\'':
			cur.WriteRune(r)
		case r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case quote == '"':
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote = r
			inWord = true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func exposedPort(w string) (string, error) {
	port, proto, ok := strings.Cut(w, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return "", invalidf(fmt.Sprintf("invalid proto: %s", proto))
	}
	lo, hi, isRange := strings.Cut(port, "-")
	for _, p := range []string{lo, hi} {
		if !isRange && p == hi {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", invalidf(fmt.Sprintf("invalid containerPort: %s", port))
		}
	}
	return port + "/" + proto, nil
}

func validSignal(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n > 0 && n <= 64
	}
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if strings.HasPrefix(s, "SIGRTMIN") || strings.HasPrefix(s, "SIGRTMAX") {
		return true
	}
	return unix.SignalNum(s) != 0
}

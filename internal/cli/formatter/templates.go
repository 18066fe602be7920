package formatter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"unicode"
)

// funcs are the helpers docker offers in every --format template.
var funcs = template.FuncMap{
	"json":     jsonString,
	"split":    strings.Split,
	"join":     strings.Join,
	"title":    title,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      pad,
	"truncate": truncate,
	"println":  fmt.Sprintln,
}

// headerFuncs replace funcs when a table's header row is rendered: the
// header is built by running the row template over a map of column titles,
// so every helper must let its (string) argument through unchanged.
var headerFuncs = template.FuncMap{
	"json":     func(v string) string { return v },
	"split":    func(v, _ string) string { return v },
	"join":     func(v, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"pad":      func(v string, _, _ int) string { return v },
	"truncate": func(v string, _ int) string { return v },
	"println":  func(v ...any) string { return fmt.Sprint(v...) },
}

// Parse parses a --format template with docker's helper functions.
func Parse(format string) (*template.Template, error) {
	return template.New("").Funcs(funcs).Parse(format)
}

// jsonString encodes v as docker does: no HTML escaping, no newline.
func jsonString(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// title upper-cases the first letter of every word, as strings.Title did.
func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		out := r
		if isSeparator(prev) {
			out = unicode.ToTitle(r)
		}
		prev = r
		return out
	}, s)
}

func isSeparator(r rune) bool {
	if r <= 0x7F {
		switch {
		case '0' <= r && r <= '9', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', r == '_':
			return false
		}
		return true
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return false
	}
	return unicode.IsSpace(r)
}

// pad surrounds a non-empty s with spaces.
func pad(s string, before, after int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
}

// truncate cuts s to n bytes.
func truncate(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

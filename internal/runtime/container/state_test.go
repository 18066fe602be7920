package container

import (
	"regexp"
	"strings"
	"testing"
)

// ValidateID accepts exactly what runc's ^[\w+\-.]+$ does (with "." and
// ".." refused and a length cap).
func TestValidateIDMatchesRuncPattern(t *testing.T) {
	runc := regexp.MustCompile(`^[\w+\-.]+$`)
	cases := []string{
		"", ".", "..", "...", "a", "A-b_c+d.e", "0123", "a/b", "../x", "a b", "é", "a\nb", "a:b",
		"x" + strings.Repeat("y", 1023), strings.Repeat("y", 1025), "tab\t", "nul\x00",
	}
	for c := 0; c < 256; c++ {
		cases = append(cases, "id"+string(rune(c)), string([]byte{byte(c)}))
	}
	for _, id := range cases {
		want := id != "." && id != ".." && len(id) <= 1024 && runc.MatchString(id)
		if got := ValidateID(id) == nil; got != want {
			t.Errorf("ValidateID(%q) ok=%v, runc's pattern says %v", id, got, want)
		}
	}
}

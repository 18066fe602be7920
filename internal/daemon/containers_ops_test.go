package daemon

import (
	"slices"
	"testing"
)

func TestParsePS(t *testing.T) {
	out := "UID PID PPID C STIME TTY TIME CMD\n" +
		"root 1 0 0 10:00 ? 00:00:01 /sbin/init splash\n" +
		"root 42 1 0 10:01 ? 00:00:00 sleep 100\n" +
		"root 43 42 0 10:01 ? 00:00:00 sh -c echo hi\n"
	resp, err := parsePS(out, []int{42, 43})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resp.Titles, []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}) || len(resp.Processes) != 2 ||
		resp.Processes[0][7] != "sleep 100" || resp.Processes[1][7] != "sh -c echo hi" || resp.Processes[1][1] != "43" {
		t.Fatalf("parsePS: %+v", resp)
	}
	if _, err := parsePS("USER COMMAND\nroot x\n", nil); err == nil {
		t.Fatal("parsePS without a PID column succeeded")
	}
}

func TestLabelsMatch(t *testing.T) {
	labels := map[string]string{"a": "1", "b": "2"}
	cases := []struct {
		name string
		f    map[string][]string
		want bool
	}{
		{"none", nil, true},
		{"key", map[string][]string{"label": {"a"}}, true},
		{"key value", map[string][]string{"label": {"a=1", "b=2"}}, true},
		{"value miss", map[string][]string{"label": {"a=2"}}, false},
		{"negated hit", map[string][]string{"label!": {"b"}}, false},
		{"negated miss", map[string][]string{"label!": {"c"}}, true},
	}
	for _, c := range cases {
		if got := labelsMatch(c.f, labels); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

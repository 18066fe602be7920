package container

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string][]byte{
		"":              {16, 17},
		"ctrl-p,ctrl-q": {16, 17},
		"ctrl-x,x":      {24, 'x'},
		"a,ctrl-@":      {'a', 0},
		`ctrl-[,ctrl-\`: {27, 28},
		"ctrl-_":        {31},
		"CTRL-A":        {1},
	} {
		got, err := parseDetachKeys(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"ctrl-", "ctrl-1", "ab", "ctrl-ab"} {
		if _, err := parseDetachKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEscapeProxy(t *testing.T) {
	keys := []byte{16, 17}
	cases := []struct {
		name, in, out string
		detached      bool
	}{
		{"plain", "hello", "hello", false},
		{"detach", "ab\x10\x11cd", "ab", true},
		{"broken sequence passes", "a\x10b\x10\x10\x11", "a\x10b\x10", true},
		{"partial at EOF passes", "ab\x10", "ab\x10", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// One byte at a time: the sequence spans reads.
			p := &escapeProxy{r: iotest.OneByteReader(bytes.NewReader([]byte(c.in))), keys: keys}
			got, err := io.ReadAll(p)
			if string(got) != c.out || errors.Is(err, errDetached) != c.detached {
				t.Fatalf("got %q err %v, want %q detached %v", got, err, c.out, c.detached)
			}
			// And in one read.
			p = &escapeProxy{r: bytes.NewReader([]byte(c.in)), keys: keys}
			got, err = io.ReadAll(p)
			if string(got) != c.out || errors.Is(err, errDetached) != c.detached {
				t.Fatalf("one read: got %q err %v, want %q detached %v", got, err, c.out, c.detached)
			}
		})
	}
}

package streams

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseDetachKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
		bad  bool
	}{
		{in: "", want: []byte{16, 17}},
		{in: "ctrl-p,ctrl-q", want: []byte{16, 17}},
		{in: "ctrl-a,x", want: []byte{1, 'x'}},
		{in: "ctrl-@,ctrl-[,ctrl-_", want: []byte{0, 27, 31}},
		{in: "ctrl-", bad: true},
		{in: "ctrl-1", bad: true},
		{in: "ab", bad: true},
		{in: "a,,b", bad: true},
	} {
		got, err := ParseDetachKeys(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestDetachReader(t *testing.T) {
	keys := []byte{16, 17}
	for _, tc := range []struct {
		name, in, want string
		detached       bool
	}{
		{name: "plain", in: "hello\n", want: "hello\n"},
		{name: "detach", in: "ls\n\x10\x11rest", want: "ls\n", detached: true},
		{name: "broken sequence", in: "a\x10b", want: "a\x10b"},
		{name: "repeated first key", in: "\x10\x10\x11", want: "\x10", detached: true},
		{name: "half sequence at EOF", in: "x\x10", want: "x\x10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time (sequences span reads) and all at once.
			for _, r := range []io.Reader{
				iotest.OneByteReader(strings.NewReader(tc.in)),
				strings.NewReader(tc.in),
			} {
				got, err := io.ReadAll(NewDetachReader(r, keys))
				if tc.detached != errors.Is(err, ErrDetached) || (!tc.detached && err != nil) {
					t.Fatalf("err %v, detached want %v", err, tc.detached)
				}
				if string(got) != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	WriteFrame(&b, Stdout, []byte("out"))
	WriteFrame(&b, Stderr, []byte("err"))
	WriteFrame(&b, Stdout, nil)
	var raw bytes.Buffer
	if err := Copy(&raw, bytes.NewReader(b.Bytes()), true, nil); err != nil {
		t.Fatal(err)
	}
	if raw.String() != "outerr" {
		t.Fatalf("raw %q", raw.String())
	}
	var onlyErr bytes.Buffer
	if err := Copy(&onlyErr, bytes.NewReader(b.Bytes()), false, func(s byte) bool { return s == Stderr }); err != nil {
		t.Fatal(err)
	}
	if want := "\x02\x00\x00\x00\x00\x00\x00\x03err"; onlyErr.String() != want {
		t.Fatalf("framed %q", onlyErr.String())
	}
	if err := Copy(io.Discard, bytes.NewReader(b.Bytes()[:10]), false, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
	huge := []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}
	if err := Copy(io.Discard, bytes.NewReader(huge), false, nil); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("huge: %v", err)
	}
}

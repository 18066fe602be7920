package container

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBind(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Bind
		err  string
	}{
		{"plain", "/src:/dst", Bind{Source: "/src", Destination: "/dst"}, ""},
		{"ro", "/src:/dst:ro", Bind{Source: "/src", Destination: "/dst", ReadOnly: true, Mode: "ro"}, ""},
		{"rw z", "/src:/dst:rw,z", Bind{Source: "/src", Destination: "/dst", Mode: "rw,z", Relabel: "z"}, ""},
		{"propagation", "/a/../b:/c/./d:rslave,ro", Bind{Source: "/b", Destination: "/c/d", ReadOnly: true, Mode: "rslave,ro", Propagation: "rslave"}, ""},
		{"nocopy", "/a:/b:nocopy", Bind{Source: "/a", Destination: "/b", Mode: "nocopy", NoCopy: true}, ""},
		{"anonymous", "/src", Bind{Destination: "/src", Volume: true}, ""},
		{"anonymous relative", "src", Bind{}, "not an absolute path"},
		{"four parts", "/a:/b:ro:x", Bind{}, "expected"},
		{"named volume", "data:/dst:ro,nocopy", Bind{Source: "data", Destination: "/dst", ReadOnly: true, Mode: "ro,nocopy", NoCopy: true, Volume: true}, ""},
		{"relative dst", "/a:dst", Bind{}, "not an absolute path"},
		{"root dst", "/a:/", Bind{}, "destination can't be '/'"},
		{"bad mode", "/a:/b:rx", Bind{}, "invalid mode"},
		{"ro and rw", "/a:/b:ro,rw", Bind{}, "invalid mode"},
		{"two propagations", "/a:/b:shared,slave", Bind{}, "invalid mode"},
		{"empty opts", "/a:/b:", Bind{}, "empty options"},
		{"empty", "", Bind{}, "not an absolute path"},
		{"empty src", ":/b", Bind{}, "empty path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBind(tc.in)
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrInvalidParameter) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseBind(%q) = %+v, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseBind(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzParseBind(f *testing.F) {
	for _, s := range []string{"/a:/b", "/a:/b:ro,Z", "/a:/b:rshared", "x:/b", "/a:/", ":::", "/a:/b:ro,ro"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBind(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("unclassed error %v", err)
			}
			return
		}
		if (b.Volume == strings.HasPrefix(b.Source, "/") && b.Source != "") || !strings.HasPrefix(b.Destination, "/") || b.Destination == "/" {
			t.Fatalf("accepted bad paths: %+v", b)
		}
		if strings.Contains(b.Destination, "/../") || strings.HasSuffix(b.Destination, "/..") {
			t.Fatalf("destination not clean: %q", b.Destination)
		}
		// Parsing what we accepted again gives the same result.
		if b.Source == "" {
			return // an anonymous volume: nothing to re-parse as a pair
		}
		again := b.Source + ":" + b.Destination
		if b.Mode != "" {
			again += ":" + b.Mode
		}
		b2, err := ParseBind(again)
		if err != nil || b2 != b {
			t.Fatalf("re-parse of %q: %+v, %v; want %+v", again, b2, err, b)
		}
	})
}

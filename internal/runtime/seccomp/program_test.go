package seccomp

import (
	"reflect"
	"strings"
	"testing"
)

func TestProgramRoundTrip(t *testing.T) {
	in := &Program{
		Instructions: []Instruction{
			{Code: 0x20, K: 4},
			{Code: 0x15, Jt: 1, Jf: 2, K: 0xc000003e},
			{Code: 0x06, K: 0x7fff0000},
		},
		Flags: 0x5,
	}
	data, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out Program
	if err := out.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, &out) {
		t.Fatalf("round trip: got %+v, want %+v", out, *in)
	}
}

func TestProgramUnmarshalRejects(t *testing.T) {
	good, err := (&Program{Instructions: []Instruction{{Code: 6, K: 0x7fff0000}}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	hdr := len(programMagic) + 1 + 8
	withVersion := func(v byte) []byte {
		b := append([]byte(nil), good...)
		b[len(programMagic)] = v
		return b
	}
	withCount := func(n byte) []byte {
		b := append([]byte(nil), good...)
		b[len(programMagic)+5] = n
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		wantSub string
	}{
		{"empty", nil, "not an encoded"},
		{"wrong magic", append([]byte("not-berth-seccomp"), good[len(programMagic):]...), "not an encoded"},
		{"future version", withVersion(9), "version 9"},
		{"truncated body", good[:len(good)-1], "1 instructions in 7 bytes"},
		{"count larger than body", withCount(2), "2 instructions in 8 bytes"},
		{"no instructions", good[:hdr], "instructions in 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Program
			err := p.UnmarshalBinary(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("UnmarshalBinary = %v, want error containing %q", err, tt.wantSub)
			}
		})
	}
}

func TestInstallNilProgram(t *testing.T) {
	var p *Program
	if err := p.Install(); err != nil {
		t.Fatalf("nil Install = %v", err)
	}
	if err := p.InstallAt(BeforeExec, true); err != nil {
		t.Fatalf("nil InstallAt = %v", err)
	}
}

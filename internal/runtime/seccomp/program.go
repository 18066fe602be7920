package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Instruction is one classic BPF instruction, laid out as the kernel's
// struct sock_filter.
type Instruction struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// Program is a compiled filter: the BPF program and the seccomp(2) flags
// that Load would install. Compiling Docker's default profile with libseccomp
// takes tens of milliseconds (see BenchmarkLoad); a Program lets that happen
// once, outside the container init — in `create` before the init starts, or
// once per distinct profile with the encoded Program cached — and be
// installed by the init with one seccomp(2) call and no libseccomp.
type Program struct {
	Instructions []Instruction
	// Flags are SECCOMP_FILTER_FLAG_* values for seccomp(2). Compile always
	// sets TSYNC; LOG and SPEC_ALLOW come from the profile.
	Flags uint32
}

// programMagic starts an encoded Program; the byte after it is the version.
const programMagic = "berth-seccomp-bpf"

const programVersion = 1

// maxInstructions is the kernel's BPF_MAXINSNS for one classic BPF program.
const maxInstructions = 4096

// MarshalBinary encodes p: magic, version, flags, count, then each
// instruction as 8 little-endian bytes.
func (p *Program) MarshalBinary() ([]byte, error) {
	if p == nil {
		return nil, errors.New("seccomp: marshal nil program")
	}
	b := make([]byte, 0, len(programMagic)+1+8+8*len(p.Instructions))
	b = append(b, programMagic...)
	b = append(b, programVersion)
	b = binary.LittleEndian.AppendUint32(b, p.Flags)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Instructions)))
	for _, in := range p.Instructions {
		b = binary.LittleEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary produced.
func (p *Program) UnmarshalBinary(b []byte) error {
	hdr := len(programMagic) + 1 + 8
	if len(b) < hdr || string(b[:len(programMagic)]) != programMagic {
		return errors.New("seccomp: decode program: not an encoded berth seccomp program")
	}
	if v := b[len(programMagic)]; v != programVersion {
		return fmt.Errorf("seccomp: decode program: version %d, want %d", v, programVersion)
	}
	flags := binary.LittleEndian.Uint32(b[len(programMagic)+1:])
	n := binary.LittleEndian.Uint32(b[len(programMagic)+5:])
	body := b[hdr:]
	if n == 0 || n > maxInstructions || uint64(len(body)) != 8*uint64(n) {
		return fmt.Errorf("seccomp: decode program: %d instructions in %d bytes", n, len(body))
	}
	ins := make([]Instruction, n)
	for i := range ins {
		r := body[8*i:]
		ins[i] = Instruction{Code: binary.LittleEndian.Uint16(r), Jt: r[2], Jf: r[3], K: binary.LittleEndian.Uint32(r[4:])}
	}
	p.Instructions, p.Flags = ins, flags
	return nil
}

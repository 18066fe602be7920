package specjson

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// UnmarshalSpec is json.Unmarshal(data, s) for a config.json.
func UnmarshalSpec(data []byte, s *specs.Spec) error {
	if s == nil || !zeroSpec(s) {
		return json.Unmarshal(data, s)
	}
	d := NewDecoder(data)
	decodeSpec(d, s)
	if d.Finish() != nil {
		*s = specs.Spec{}
		return json.Unmarshal(data, s)
	}
	return nil
}

// UnmarshalProcess is json.Unmarshal(data, p) for a process.json.
func UnmarshalProcess(data []byte, p *specs.Process) error {
	if p == nil || !zeroProcess(p) {
		return json.Unmarshal(data, p)
	}
	d := NewDecoder(data)
	decodeProcess(d, p)
	if d.Finish() != nil {
		*p = specs.Process{}
		return json.Unmarshal(data, p)
	}
	return nil
}

// UnmarshalState is json.Unmarshal(data, st) for an OCI state.
func UnmarshalState(data []byte, st *specs.State) error {
	if st == nil || !zeroState(st) {
		return json.Unmarshal(data, st)
	}
	d := NewDecoder(data)
	decodeState(d, st)
	if d.Finish() != nil {
		*st = specs.State{}
		return json.Unmarshal(data, st)
	}
	return nil
}

// SpecPtr decodes a spec into *p with encoding/json's rules for a *specs.Spec
// field: null sets nil, an object decodes into *p (allocated if nil).
func SpecPtr(d *Decoder, p **specs.Spec) { Ptr(d, p, decodeSpec) }

// ProcessPtr is SpecPtr for a *specs.Process.
func ProcessPtr(d *Decoder, p **specs.Process) { Ptr(d, p, decodeProcess) }

// MarshalSpec is json.Marshal(s), byte for byte.
func MarshalSpec(s *specs.Spec) ([]byte, error) {
	var e Encoder
	EncodeSpec(&e, s)
	if b, ok := e.Bytes(); ok {
		return b, nil
	}
	return json.Marshal(s)
}

// MarshalProcess is json.Marshal(p), byte for byte.
func MarshalProcess(p *specs.Process) ([]byte, error) {
	var e Encoder
	encodePtrProcess(&e, p)
	if b, ok := e.Bytes(); ok {
		return b, nil
	}
	return json.Marshal(p)
}

// MarshalState is json.Marshal(st), byte for byte.
func MarshalState(st *specs.State) ([]byte, error) {
	var e Encoder
	if st == nil {
		e.Null()
	} else {
		encodeState(&e, st)
	}
	if b, ok := e.Bytes(); ok {
		return b, nil
	}
	return json.Marshal(st)
}

// EncodeSpec appends s as json.Marshal writes a *specs.Spec (null for nil).
// If e fails, the caller must marshal the whole value with encoding/json.
func EncodeSpec(e *Encoder, s *specs.Spec) {
	if s == nil {
		e.Null()
		return
	}
	encodeSpec(e, s)
}

// EncodeStringMap appends m as json.Marshal writes a map[string]string: keys
// sorted, null for nil.
func EncodeStringMap(e *Encoder, m map[string]string) { encodeMapStringString(e, m) }

// EncodeProcess appends p as json.Marshal writes a *specs.Process (null for
// nil).
func EncodeProcess(e *Encoder, p *specs.Process) { encodePtrProcess(e, p) }

// EncodeStrings appends s as json.Marshal writes a []string (null for nil).
func EncodeStrings(e *Encoder, s []string) { encodeSliceString(e, s) }

// MarshalSeccomp is json.Marshal(s), byte for byte.
func MarshalSeccomp(s *specs.LinuxSeccomp) ([]byte, error) {
	var e Encoder
	encodePtrLinuxSeccomp(&e, s)
	if b, ok := e.Bytes(); ok {
		return b, nil
	}
	return json.Marshal(s)
}

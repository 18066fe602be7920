// Package specjson decodes the OCI runtime spec's JSON documents (config.json,
// a process.json, a state) into the runtime-spec Go types without reflection
// at run time.
//
// Why: every berth-runtime command is a fresh process, so encoding/json is
// always cold there. Its first decode of a specs.Spec builds a field cache per
// struct type with reflection (~15 µs a type, dozens of types), which cost
// 0.5–0.8 ms of every container start for a config.json that then decodes
// warm in 0.03–0.2 ms. The decoders here are generated ahead of time from the
// same types (decode_gen.go, by internal/gen) over a small hand-written
// scanner (Decoder).
//
// The contract: for every document, the value and the error are those of
// encoding/json.Unmarshal. The generated code decodes a valid document exactly
// as encoding/json would — key matching (exact name, then the case-folded
// match), unknown keys skipped, repeated keys merging into structs, maps and
// slice elements, null rules, integer range checks, strings' escapes and
// invalid UTF-8. Everything else — any syntax error, type mismatch or
// overflow, and the few Go types whose rules it does not reproduce
// (interface{}, []byte, floats, ",string" fields) — makes it give up, and the
// whole document is decoded again by encoding/json from a zero value, so
// encoding/json writes every error message. The entry points decode into
// zero values only; a non-zero target goes straight to encoding/json.
//
// Decoder and the generic decoders (String, Int, Ptr, Map, ...) are exported
// for hand-written decoders of records that hold a spec (berth-runtime's
// state.json), which follow the same contract.
//
// specjson imports only the standard library and the runtime-spec module.
package specjson

//go:generate go run ./internal/gen -decode decode_gen.go -encode encode_gen.go

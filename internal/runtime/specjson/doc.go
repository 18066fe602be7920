// Package specjson reads and writes the OCI runtime spec's JSON documents
// (config.json, a process.json, a state, and records that embed them) for the
// runtime-spec Go types, with encoding/json's exact results and without
// reflection at run time.
//
// Why: every berth-runtime command is a fresh process, so encoding/json is
// always cold there. Its first use of a type builds, with reflection, the
// field lists and the encoders of every type the value reaches (its field
// lists hold each field's encoder, so a decode builds them too): ~0.6 ms for
// the spec, paid by whichever decode or encode first touches a type that
// holds it, for a config.json that decodes warm in 0.03–0.2 ms. The decoders and encoders here are
// generated ahead of time from the same types (decode_gen.go, encode_gen.go,
// by internal/gen) over a small hand-written scanner (Decoder) and writer
// (Encoder).
//
// The contract, decoding: for every document, the value and the error are
// those of encoding/json.Unmarshal. The generated code decodes a valid
// document exactly as encoding/json would — key matching (exact name, then
// the case-folded match), unknown keys skipped, repeated keys merging into
// structs, maps and slice elements, null rules, integer range checks,
// strings' escapes and invalid UTF-8. Everything else — any syntax error,
// type mismatch or overflow, and the few Go types whose rules it does not
// reproduce (interface{}, floats, ",string" fields), and the sections for
// other platforms than Linux (solaris, windows, vm, zos, freebsd: never seen
// by berth-runtime, and a quarter of the code) — makes it give up, and
// the whole document is decoded again by encoding/json from a zero value, so
// encoding/json writes every error message. The entry points decode into zero
// values only; a non-zero target goes straight to encoding/json.
//
// Encoding: the bytes are json.Marshal's (field order, omitempty, sorted map
// keys, HTML-safe escaping, invalid UTF-8 as \ufffd); a value the generated
// code does not write (another platform's section, a set interface{} field)
// is marshalled by encoding/json.
//
// Decoder, Encoder and the generic helpers (String, Int, Ptr, Map, ...) are
// exported for hand-written codecs of berth-runtime's own messages that carry
// a spec (state.json's record, the init socket's messages), which follow the
// same contract and are tested against encoding/json the same way.
//
// specjson imports only the standard library and the runtime-spec module.
package specjson

//go:generate go run ./internal/gen -decode decode_gen.go -encode encode_gen.go

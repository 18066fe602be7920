package specjson

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// Encoder appends JSON to a buffer with json.Marshal's exact output: no
// insignificant whitespace, strings escaped as Marshal escapes them (HTML
// characters, U+2028, U+2029, invalid UTF-8 as \ufffd). Values it cannot
// write as Marshal would (a set interface{} field, a float) make it fail;
// the caller then marshals with encoding/json, which also writes any error.
type Encoder struct {
	buf    []byte
	failed bool
}

// Fail marks the value as one for encoding/json.
func (e *Encoder) Fail() { e.failed = true }

// Bytes returns what was written, and false if the Encoder failed.
func (e *Encoder) Bytes() ([]byte, bool) { return e.buf, !e.failed }

// Raw appends s as it is: punctuation and keys written by a hand-written
// encoder (`{"id":`).
func (e *Encoder) Raw(s string) { e.buf = append(e.buf, s...) }

// RawBytes appends b as it is.
func (e *Encoder) RawBytes(b []byte) { e.buf = append(e.buf, b...) }

// Null appends null.
func (e *Encoder) Null() { e.buf = append(e.buf, "null"...) }

// Bool appends true or false.
func (e *Encoder) Bool(b bool) { e.buf = strconv.AppendBool(e.buf, b) }

// Int appends a signed integer.
func (e *Encoder) Int(n int64) { e.buf = strconv.AppendInt(e.buf, n, 10) }

// Uint appends an unsigned integer.
func (e *Encoder) Uint(n uint64) { e.buf = strconv.AppendUint(e.buf, n, 10) }

// Base64 appends b as json.Marshal writes a []byte: a string of standard
// base64, null for nil.
func (e *Encoder) Base64(b []byte) {
	if b == nil {
		e.Null()
		return
	}
	e.buf = append(e.buf, '"')
	e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
	e.buf = append(e.buf, '"')
}

// String appends s quoted, escaped as json.Marshal escapes strings.
func (e *Encoder) String(s string) {
	const hex = "0123456789abcdef"
	b := append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other control bytes, and <, >, & for HTML
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript: Marshal escapes them.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	e.buf = append(b, '"')
}

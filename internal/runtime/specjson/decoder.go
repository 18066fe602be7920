package specjson

import (
	"errors"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// errFallback is the only error a Decoder records: the document needs
// encoding/json, either because it is invalid (encoding/json then writes the
// error) or because it uses something the generated code does not decode.
var errFallback = errors.New("specjson: document needs encoding/json")

// maxSkipDepth bounds the nesting of values skipped as unknown. Deeper
// documents are handed to encoding/json, which has its own (larger) limit.
const maxSkipDepth = 1000

// Decoder is a cursor over one JSON document. It validates everything it
// reads as strictly as encoding/json's scanner and records a failure instead
// of an error message: once failed, every method is a no-op and Finish
// reports it, and the caller decodes the document again with encoding/json.
//
// Methods that decode a value into a Go value follow encoding/json's rules for
// that Go type (null into a scalar or struct leaves it unchanged, null into a
// pointer, slice or map sets nil, objects merge into existing structs and
// maps). Any mismatch between the JSON value and the Go type is a failure.
//
// Strings without escapes are slices of one string copy of the document, so
// a decoded value keeps that copy alive (at most the document's size) instead
// of holding one allocation per string.
type Decoder struct {
	data  []byte
	str   string // data as a string: undecorated strings are substrings of it
	off   int
	err   error
	buf   []byte // scratch for strings with escapes
	fold  []byte // scratch for folded keys
	fold2 []byte // scratch for folded names (Match)
}

// NewDecoder returns a Decoder at the start of data.
func NewDecoder(data []byte) *Decoder {
	return &Decoder{data: data, str: string(data)}
}

// Fail marks the document as one for encoding/json.
func (d *Decoder) Fail() {
	if d.err == nil {
		d.err = errFallback
	}
}

// Failed reports whether the Decoder has failed.
func (d *Decoder) Failed() bool { return d.err != nil }

// Finish checks that only whitespace follows the top-level value. It returns
// a non-nil error if anything failed; its text is not meant for users.
func (d *Decoder) Finish() error {
	if d.err == nil {
		d.ws()
		if d.off != len(d.data) {
			d.Fail()
		}
	}
	return d.err
}

func (d *Decoder) ws() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// peek returns the next byte after whitespace, or 0 at the end or after a
// failure.
func (d *Decoder) peek() byte {
	if d.err != nil {
		return 0
	}
	d.ws()
	if d.off >= len(d.data) {
		return 0
	}
	return d.data[d.off]
}

// literal consumes lit (true, false, null) if it is next.
func (d *Decoder) literal(lit string) bool {
	if d.off+len(lit) <= len(d.data) && d.str[d.off:d.off+len(lit)] == lit {
		d.off += len(lit)
		return true
	}
	return false
}

// Null consumes a null if it is the next value.
func (d *Decoder) Null() bool {
	return d.peek() == 'n' && d.literal("null")
}

// Object consumes the '{' that starts an object. It fails and returns false
// if the next value is not an object.
func (d *Decoder) Object() bool {
	if d.peek() != '{' {
		d.Fail()
		return false
	}
	d.off++
	return true
}

// Key reads the n-th key (from 0) of the object whose '{' was consumed by
// Object, with the ',' before it and the ':' after it. It returns false at the
// closing '}', which it consumes, or after a failure. The key is unescaped as
// encoding/json does and is valid until the next call that reads a string.
func (d *Decoder) Key(n int) ([]byte, bool) {
	c := d.peek()
	if c == '}' {
		// After a ',' the '}' is refused below, as a key must follow.
		d.off++
		return nil, false
	}
	if n > 0 {
		if c != ',' {
			d.Fail()
			return nil, false
		}
		d.off++
		c = d.peek()
	}
	if c != '"' {
		d.Fail()
		return nil, false
	}
	key, _ := d.stringBytes()
	if d.peek() != ':' {
		d.Fail()
		return nil, false
	}
	d.off++
	return key, d.err == nil
}

// Array consumes the '[' that starts an array. It fails and returns false if
// the next value is not an array.
func (d *Decoder) Array() bool {
	if d.peek() != '[' {
		d.Fail()
		return false
	}
	d.off++
	return true
}

// Elem prepares the n-th element (from 0) of the array whose '[' was
// consumed by Array, consuming the ',' before it. It returns false at the
// closing ']', which it consumes, or after a failure.
func (d *Decoder) Elem(n int) bool {
	c := d.peek()
	if c == ']' {
		// A ']' right after a ',' ("[1,]") is refused by the element's
		// decoder; here the previous element is complete.
		d.off++
		return false
	}
	if c == 0 {
		d.Fail()
		return false
	}
	if n > 0 {
		if c != ',' {
			d.Fail()
			return false
		}
		d.off++
	}
	return true
}

// stringBytes reads a string and returns its bytes unescaped, with invalid
// UTF-8 and unpaired surrogates replaced by U+FFFD as encoding/json does.
// plain reports that the bytes are a slice of the input (the string needed
// no unescaping), so d.str[start:end] holds the same text.
func (d *Decoder) stringBytes() (b []byte, plain bool) {
	if d.peek() != '"' {
		d.Fail()
		return nil, false
	}
	start := d.off + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		if c == '"' {
			d.off = i + 1
			return d.data[start:i], true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	return d.slowString(start, i), false
}

// slowString unescapes the string that started at start, copying the plain
// prefix up to i.
func (d *Decoder) slowString(start, i int) []byte {
	b := append(d.buf[:0], d.data[start:i]...)
	for {
		if i >= len(d.data) {
			d.Fail()
			return nil
		}
		c := d.data[i]
		switch {
		case c == '"':
			d.off = i + 1
			d.buf = b
			return b
		case c < 0x20:
			d.Fail()
			return nil
		case c == '\\':
			if i+1 >= len(d.data) {
				d.Fail()
				return nil
			}
			e := d.data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(d.data, i)
				if !ok {
					d.Fail()
					return nil
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A pair only if a valid \uXXXX low half follows;
					// otherwise this half alone becomes U+FFFD and the
					// next escape is read on its own.
					if i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						if r2, ok := hex4(d.data, i+2); ok {
							if p := utf16.DecodeRune(r, r2); p != unicode.ReplacementChar {
								b = utf8.AppendRune(b, p)
								i += 6
								continue
							}
						}
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
			default:
				d.Fail()
				return nil
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRune(d.data[i:])
			i += n
			b = utf8.AppendRune(b, r)
		}
	}
}

func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// string reads a string value as a Go string, without a copy when it needed
// no unescaping.
func (d *Decoder) string() (string, bool) {
	b, plain := d.stringBytes()
	if d.err != nil {
		return "", false
	}
	if plain {
		end := d.off - 1 // the closing quote
		return d.str[end-len(b) : end], true
	}
	return string(b), true
}

// number reads a number and returns its text, and whether it is an integer
// (no fraction or exponent).
func (d *Decoder) number() ([]byte, bool) {
	d.ws()
	start, i := d.off, d.off
	data := d.data
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i >= len(data) {
		d.Fail()
		return nil, false
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	default:
		d.Fail()
		return nil, false
	}
	integer := true
	if i < len(data) && data[i] == '.' {
		integer = false
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.Fail()
			return nil, false
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		integer = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.Fail()
			return nil, false
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	d.off = i
	return data[start:i], integer
}

// integer reads a number that must be an integer within 64 bits: the
// magnitude and the sign.
func (d *Decoder) integer() (mag uint64, neg bool, ok bool) {
	if c := d.peek(); c != '-' && (c < '0' || c > '9') {
		d.Fail()
		return 0, false, false
	}
	b, isInt := d.number()
	if d.err != nil {
		return 0, false, false
	}
	if !isInt {
		// encoding/json parses integer fields with strconv, which refuses
		// fractions and exponents: a type error.
		d.Fail()
		return 0, false, false
	}
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	for _, c := range b {
		if mag > (1<<64-1)/10 {
			d.Fail()
			return 0, false, false
		}
		next := mag*10 + uint64(c-'0')
		if next < mag*10 {
			d.Fail()
			return 0, false, false
		}
		mag = next
	}
	return mag, neg, true
}

// Skip reads and validates one value of any type and discards it.
func (d *Decoder) Skip() {
	d.skip(0)
}

func (d *Decoder) skip(depth int) {
	if depth > maxSkipDepth {
		d.Fail()
		return
	}
	switch c := d.peek(); {
	case c == '{':
		d.off++
		for n := 0; ; n++ {
			if _, ok := d.Key(n); !ok {
				return
			}
			d.skip(depth + 1)
		}
	case c == '[':
		d.off++
		for n := 0; d.Elem(n); n++ {
			d.skip(depth + 1)
		}
	case c == '"':
		d.stringBytes()
	case c == 't':
		if !d.literal("true") {
			d.Fail()
		}
	case c == 'f':
		if !d.literal("false") {
			d.Fail()
		}
	case c == 'n':
		if !d.literal("null") {
			d.Fail()
		}
	case c == '-' || ('0' <= c && c <= '9'):
		d.number()
	default:
		d.Fail()
	}
}

// Raw reads and validates one value and returns its bytes, as encoding/json
// hands them to an UnmarshalJSON method.
func (d *Decoder) Raw() []byte {
	d.ws()
	start := d.off
	d.Skip()
	if d.err != nil {
		return nil
	}
	return d.data[start:d.off]
}

// Match returns the index in names, a struct's JSON field names in field
// order, of the field that key selects by encoding/json's rules: the exact
// name, else the first name equal to key under its case folding; -1 for none.
// It is the lookup for hand-written decoders; the generated ones switch on
// names folded ahead of time.
func (d *Decoder) Match(key []byte, names []string) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	folded := d.Fold(key)
	for i, n := range names {
		d.fold2 = appendFolded(d.fold2[:0], []byte(n))
		if string(folded) == string(d.fold2) {
			return i
		}
	}
	return -1
}

// Fold returns key folded as encoding/json folds names for its
// case-insensitive match: ASCII letters to upper case, other runes to the
// smallest rune of their Unicode simple-fold orbit. The result is valid
// until the next call.
func (d *Decoder) Fold(key []byte) []byte {
	d.fold = appendFolded(d.fold[:0], key)
	return d.fold
}

func appendFolded(out, key []byte) []byte {
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(key[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

func foldRune(r rune) rune {
	for {
		next := unicode.SimpleFold(r)
		if next <= r {
			return next
		}
		r = next
	}
}

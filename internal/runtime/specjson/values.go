package specjson

import (
	"encoding/base64"
	"math"
)

// The generic decoders below are what the generated code is made of, and what
// a hand-written decoder of a type that holds a spec uses for its own fields.
// Each decodes the next value into *p with encoding/json's rules for the Go
// type, and fails on any JSON value of another type.

// String decodes a string. null leaves *p unchanged.
func String[T ~string](d *Decoder, p *T) {
	if d.Null() {
		return
	}
	if s, ok := d.string(); ok {
		*p = T(s)
	}
}

// Bool decodes true or false. null leaves *p unchanged.
func Bool[T ~bool](d *Decoder, p *T) {
	var ok bool
	switch d.peek() {
	case 'n':
		ok = d.literal("null")
	case 't':
		if ok = d.literal("true"); ok {
			*p = true
		}
	case 'f':
		if ok = d.literal("false"); ok {
			*p = false
		}
	}
	if !ok {
		d.Fail()
	}
}

// Int decodes an integer that fits T. null leaves *p unchanged; a fraction,
// an exponent or an overflow fails, as encoding/json refuses them.
func Int[T ~int | ~int8 | ~int16 | ~int32 | ~int64](d *Decoder, p *T) {
	if d.Null() {
		return
	}
	mag, neg, ok := d.integer()
	if !ok {
		return
	}
	var n int64
	switch {
	case neg && mag <= 1<<63:
		n = int64(-mag) // -(1<<63) wraps to math.MinInt64, as wanted
	case !neg && mag <= math.MaxInt64:
		n = int64(mag)
	default:
		d.Fail()
		return
	}
	if int64(T(n)) != n {
		d.Fail()
		return
	}
	*p = T(n)
}

// Uint decodes a non-negative integer that fits T. null leaves *p unchanged;
// a sign (even "-0"), a fraction, an exponent or an overflow fails.
func Uint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](d *Decoder, p *T) {
	if d.Null() {
		return
	}
	mag, neg, ok := d.integer()
	if !ok {
		return
	}
	if neg || uint64(T(mag)) != mag {
		d.Fail()
		return
	}
	*p = T(mag)
}

// Base64 decodes a string of standard base64 into a []byte, as
// encoding/json does for []byte: null sets nil, an empty string gives a
// non-nil empty slice, and a string base64 refuses fails.
func Base64(d *Decoder, p *[]byte) {
	if d.Null() {
		*p = nil
		return
	}
	s, _ := d.stringBytes()
	if d.err != nil {
		return
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		d.Fail()
		return
	}
	*p = b[:n]
}

// Ptr decodes into *p through dec, allocating it if nil, as encoding/json
// does; null sets *p to nil.
func Ptr[T any](d *Decoder, p **T, dec func(*Decoder, *T)) {
	if d.Null() {
		*p = nil
		return
	}
	if *p == nil {
		*p = new(T)
	}
	dec(d, *p)
}

// Slice decodes an array, each element through dec; null sets *p to nil.
// Like encoding/json it decodes into the elements already there (a repeated
// key merges into them), grows the slice one element at a time, truncates it
// to the array's length and leaves an empty array as a non-nil empty slice.
func Slice[T any](d *Decoder, p *[]T, dec func(*Decoder, *T)) {
	if d.Null() {
		*p = nil
		return
	}
	if !d.Array() {
		return
	}
	s := *p
	i := 0
	for ; d.Elem(i); i++ {
		switch {
		case i < len(s):
		case i < cap(s):
			s = s[:i+1] // what was there before stays, as with reflect's SetLen
		default:
			var zero T
			s = append(s, zero) // len == cap == i here: reflect's Grow(1)
		}
		dec(d, &s[i])
	}
	if i < len(s) {
		s = s[:i]
	}
	if i == 0 {
		s = []T{}
	}
	*p = s
}

// Map decodes an object into a map with string keys, each value through dec
// into a fresh zero value (so null stores the zero value); null sets *p to
// nil. Keys add to the map already there; a repeated key replaces.
func Map[K ~string, V any](d *Decoder, p *map[K]V, dec func(*Decoder, *V)) {
	if d.Null() {
		*p = nil
		return
	}
	if !d.Object() {
		return
	}
	if *p == nil {
		*p = make(map[K]V)
	}
	for n := 0; ; n++ {
		key, ok := d.Key(n)
		if !ok {
			return
		}
		k := K(key)
		var v V
		dec(d, &v)
		if d.Failed() {
			return
		}
		(*p)[k] = v
	}
}

// unsupported is the decoder the generator emits for Go types whose
// encoding/json rules it does not reproduce (interface{}, floats, []byte):
// a document that sets such a field is decoded by encoding/json.
func unsupported[T any](d *Decoder, _ *T) {
	d.Fail()
}

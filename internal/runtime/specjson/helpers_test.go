package specjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// Match must pick the field encoding/json picks.
func TestMatch(t *testing.T) {
	type target struct {
		A int `json:"aa"`
		B int `json:"AA"`
		K int `json:"k"`
		S int `json:"s_x"`
	}
	names := []string{"aa", "AA", "k", "s_x"}
	for _, key := range []string{"aa", "AA", "Aa", "aA", "k", "K", "\u212a", "s_x", "S_X", "\u017f_x", "sx", "x", ""} {
		var v target
		if err := json.Unmarshal([]byte(fmt.Sprintf(`{%q:1}`, key)), &v); err != nil {
			t.Fatal(err)
		}
		want := -1
		for i, f := range []int{v.A, v.B, v.K, v.S} {
			if f == 1 {
				want = i
			}
		}
		if got := NewDecoder(nil).Match([]byte(key), names); got != want {
			t.Errorf("Match(%q) = %d, encoding/json picks %d", key, got, want)
		}
	}
}

func TestBase64(t *testing.T) {
	type target struct {
		B []byte `json:"b"`
	}
	for _, val := range []string{`null`, `""`, `"AAEC"`, `"AA=="`, `"AA"`, `"!!"`, `"AA\nEC"`, `"\u0041\u0041=="`, `1`, `[]`, `"AAE"`} {
		doc := []byte(`{"b":` + val + `}`)
		var want target
		wantErr := json.Unmarshal(doc, &want)
		var got target
		d := NewDecoder(doc)
		if d.Object() {
			for n := 0; ; n++ {
				if _, ok := d.Key(n); !ok {
					break
				}
				Base64(d, &got.B)
			}
		}
		failed := d.Finish() != nil
		// An array of bytes is encoding/json's too, through the fallback.
		if val == `[]` && failed && wantErr == nil {
			continue
		}
		if failed != (wantErr != nil) {
			t.Errorf("%s: failed %v, encoding/json error %v", val, failed, wantErr)
		}
		if !failed && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, encoding/json %#v", val, got.B, want.B)
		}
	}
	for _, b := range [][]byte{nil, {}, {0}, {0, 1, 2, 3, 250}} {
		want, _ := json.Marshal(b)
		var e Encoder
		e.Base64(b)
		if got, _ := e.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("Base64(%v) = %s, json.Marshal %s", b, got, want)
		}
	}
}

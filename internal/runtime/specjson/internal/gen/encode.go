package main

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// marshals reports whether encoding/json would ask t's values to marshal
// themselves.
func marshals(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || pt.Implements(marshalerType) ||
		t.Implements(textMarshalerType) || pt.Implements(textMarshalerType)
}

// encoder returns a statement that appends the JSON of expr, an addressable
// value of type t, queueing the generated functions it needs. What
// json.Marshal writes in a way the generated code does not reproduce makes the
// Encoder fail.
func (g *generator) encoder(t reflect.Type, expr string) string {
	if marshals(t) {
		return "e.Fail()"
	}
	switch t.Kind() {
	case reflect.String:
		return "e.String(string(" + expr + "))"
	case reflect.Bool:
		return "e.Bool(bool(" + expr + "))"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "e.Int(int64(" + expr + "))"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "e.Uint(uint64(" + expr + "))"
	case reflect.Pointer:
		if t.Elem().Kind() == reflect.Pointer || marshals(t.Elem()) {
			return "e.Fail()"
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // base64
			return "e.Fail()"
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String || marshals(t.Key()) {
			return "e.Fail()"
		}
	case reflect.Struct:
	default: // interface, float, array, complex, chan, func
		return "e.Fail()"
	}
	g.typeName(t)
	name := "encode" + strings.TrimPrefix(funcName(t), "decode")
	if prev, ok := g.done[name]; ok && prev != t {
		panic(fmt.Sprintf("encoder name %s used by %v and %v", name, prev, t))
	} else if !ok {
		g.done[name] = t
		g.queue = append(g.queue, t)
	}
	if t.Kind() == reflect.Struct {
		if strings.HasPrefix(expr, "*") {
			return name + "(e, " + expr[1:] + ")"
		}
		return name + "(e, &" + expr + ")"
	}
	return name + "(e, " + expr + ")"
}

// nonEmpty is the negation of encoding/json's omitempty test for expr of
// type t.
func nonEmpty(t reflect.Type, expr string) string {
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return "len(" + expr + ") != 0"
	case reflect.Bool:
		return expr
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return expr + " != 0"
	case reflect.Pointer, reflect.Interface:
		return expr + " != nil"
	}
	return "true" // structs are never empty
}

func (g *generator) emitEncoder(t reflect.Type) {
	name, tn := "encode"+strings.TrimPrefix(funcName(t), "decode"), g.typeName(t)
	switch t.Kind() {
	case reflect.Pointer:
		fmt.Fprintf(&g.buf, "\nfunc %s(e *Encoder, v %s) {\n\tif v == nil {\n\t\te.Null()\n\t\treturn\n\t}\n\t%s\n}\n",
			name, tn, g.encoder(t.Elem(), "*v"))
	case reflect.Slice:
		fmt.Fprintf(&g.buf, "\nfunc %s(e *Encoder, v %s) {\n\tif v == nil {\n\t\te.Null()\n\t\treturn\n\t}\n", name, tn)
		g.buf.WriteString("\te.buf = append(e.buf, '[')\n\tfor i := range v {\n\t\tif i > 0 {\n\t\t\te.buf = append(e.buf, ',')\n\t\t}\n")
		fmt.Fprintf(&g.buf, "\t\t%s\n\t}\n\te.buf = append(e.buf, ']')\n}\n", g.encoder(t.Elem(), "v[i]"))
	case reflect.Map:
		g.imports["slices"] = "slices"
		kn := g.typeName(t.Key())
		fmt.Fprintf(&g.buf, "\nfunc %s(e *Encoder, v %s) {\n\tif v == nil {\n\t\te.Null()\n\t\treturn\n\t}\n", name, tn)
		fmt.Fprintf(&g.buf, "\tkeys := make([]%s, 0, len(v))\n\tfor k := range v {\n\t\tkeys = append(keys, k)\n\t}\n\tslices.Sort(keys)\n", kn)
		g.buf.WriteString("\te.buf = append(e.buf, '{')\n\tfor i, k := range keys {\n\t\tif i > 0 {\n\t\t\te.buf = append(e.buf, ',')\n\t\t}\n")
		g.buf.WriteString("\t\te.String(string(k))\n\t\te.buf = append(e.buf, ':')\n\t\tx := v[k]\n")
		fmt.Fprintf(&g.buf, "\t\t%s\n\t}\n\te.buf = append(e.buf, '}')\n}\n", g.encoder(t.Elem(), "x"))
	case reflect.Struct:
		fs := fields(t)
		fmt.Fprintf(&g.buf, "\nfunc %s(e *Encoder, v *%s) {\n", name, tn)
		if len(fs) == 0 {
			g.buf.WriteString("\te.buf = append(e.buf, \"{}\"...)\n}\n")
			return
		}
		g.buf.WriteString("\tsep := byte('{')\n")
		for _, f := range fs {
			path, ok := fieldPath(t, f.index)
			if !ok || f.quoted || f.omitZero {
				// Left to encoding/json: a field promoted through an
				// embedded pointer, ",string", ",omitzero".
				g.buf.WriteString("\te.Fail()\n")
				continue
			}
			expr := "v." + path
			if f.other {
				// Another platform's section: encoding/json's, when set.
				if f.omitEmpty {
					fmt.Fprintf(&g.buf, "\tif %s {\n\t\te.Fail()\n\t}\n", nonEmpty(f.typ, expr))
				} else {
					g.buf.WriteString("\te.Fail()\n")
				}
				continue
			}
			key, err := json.Marshal(f.name)
			if err != nil {
				panic(err)
			}
			stmt := fmt.Sprintf("e.buf = append(e.buf, sep)\n\tsep = ','\n\te.buf = append(e.buf, %q...)\n\t%s", string(key)+":", g.encoder(f.typ, expr))
			if f.omitEmpty {
				fmt.Fprintf(&g.buf, "\tif %s {\n\t%s\n\t}\n", nonEmpty(f.typ, expr), stmt)
			} else {
				fmt.Fprintf(&g.buf, "\t%s\n", stmt)
			}
		}
		g.buf.WriteString("\tif sep == '{' {\n\t\te.buf = append(e.buf, '{')\n\t}\n\te.buf = append(e.buf, '}')\n}\n")
	}
}

package formatter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
)

// Format is the value of a --format flag.
type Format string

const (
	// TableKey starts a table format: "table" alone or "table <template>".
	TableKey = "table"
	// JSONKey prints each row as one JSON object per line.
	JSONKey = "json"
	// jsonRow is what "json" means for a row.
	jsonRow = "{{json .}}"
)

// IsTable reports whether f renders a table with a header row.
func (f Format) IsTable() bool { return strings.HasPrefix(string(f), TableKey) }

// IsJSON reports whether f is the "json" shorthand.
func (f Format) IsJSON() bool { return string(f) == JSONKey }

// Header maps a row's field names to column titles.
type Header map[string]string

// Context writes rows under one format.
type Context struct {
	Output io.Writer
	Format Format
}

// template returns the row template text docker derives from the format:
// "table " and "json" shorthands expanded, surrounding spaces trimmed, and
// the two-character sequences \t and \n turned into tab and newline.
func (f Format) template() string {
	s := string(f)
	switch {
	case f.IsTable():
		s = s[len(TableKey):]
	case f.IsJSON():
		s = jsonRow
	}
	s = strings.Trim(s, " ")
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(s)
}

// Write renders rows, each followed by a newline; a table gets a header
// row (even with no rows) and tab-aligned columns.
func (c Context) Write(header Header, rows []any) error {
	text := c.Format.template()
	tmpl, err := Parse(text)
	if err != nil {
		return fmt.Errorf("failed to parse template: %w", err)
	}
	var body bytes.Buffer
	for _, r := range rows {
		if err := tmpl.Execute(&body, r); err != nil {
			return fmt.Errorf("failed to execute template: %w", err)
		}
		body.WriteByte('\n')
	}
	if !c.Format.IsTable() {
		_, err := body.WriteTo(c.Output)
		return err
	}
	tw := tabwriter.NewWriter(c.Output, 10, 1, 3, ' ', 0)
	h, err := template.New("").Funcs(headerFuncs).Parse(text)
	if err != nil {
		return fmt.Errorf("failed to parse template: %w", err)
	}
	var head bytes.Buffer
	if err := h.Execute(&head, map[string]string(header)); err != nil {
		return fmt.Errorf("failed to execute template: %w", err)
	}
	head.WriteByte('\n')
	head.WriteTo(tw)
	body.WriteTo(tw)
	return tw.Flush()
}

// MarshalFields encodes a row as the JSON object of its exported,
// argument-free methods with one result, which is what "json" and
// {{json .}} print for docker's list commands.
func MarshalFields(row any) ([]byte, error) {
	m := map[string]any{}
	v := reflect.ValueOf(row)
	t := v.Type()
	for i := 0; i < t.NumMethod(); i++ {
		meth := t.Method(i)
		if meth.Name == "MarshalJSON" || meth.Type.NumIn() != 1 || meth.Type.NumOut() != 1 {
			continue
		}
		m[meth.Name] = v.Method(i).Call(nil)[0].Interface()
	}
	return json.Marshal(m)
}

// Ellipsis shortens s to at most n runes, ending with "…" when cut.
func Ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}

// Execute renders one value (version, info, inspect) under a --format:
// "json" prints it as one JSON object, anything else is a template; a
// newline follows, as docker prints.
func Execute(out io.Writer, format string, v any) error {
	if format == JSONKey {
		format = jsonRow
	}
	tmpl, err := Parse(format)
	if err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err = b.WriteTo(out)
	return err
}

package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/moby/moby/client"

	"github.com/berth-engine/berth/internal/cli/formatter"
)

// RawGetter returns the inspect JSON of one reference.
type RawGetter func(ctx context.Context, ref string) ([]byte, error)

// Inspect prints refs as docker's inspect does: without a format, one
// JSON array indented by four spaces; with one, the template executed over
// each object's decoded JSON. Errors for single references are printed
// after the output and end the command with status 1.
func Inspect(ctx context.Context, out io.Writer, refs []string, format string, get RawGetter) error {
	var raws []json.RawMessage
	var errs []string
	var tmplOut bytes.Buffer
	var tmpl *template.Template
	if format != "" {
		t, err := formatter.Parse(format)
		if err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		// docker: a missing key is an error, not "<no value>".
		tmpl = t.Option("missingkey=error")
	}
	for _, ref := range refs {
		raw, err := get(ctx, ref)
		if err != nil {
			if client.IsErrConnectionFailed(err) {
				return err
			}
			errs = append(errs, err.Error())
			continue
		}
		if format == "" {
			raws = append(raws, raw)
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := tmpl.Execute(&tmplOut, v); err != nil {
			tmplOut.WriteByte('\n')
			tmplOut.WriteTo(out)
			return fmt.Errorf("template parsing error: %w", err)
		}
		tmplOut.WriteByte('\n')
	}
	if format == "" {
		b := []byte{'['}
		for i, r := range raws {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, r...)
		}
		b = append(b, ']')
		var ind bytes.Buffer
		if err := json.Indent(&ind, b, "", "    "); err != nil {
			return err
		}
		ind.WriteByte('\n')
		if _, err := ind.WriteTo(out); err != nil {
			return err
		}
	} else if _, err := tmplOut.WriteTo(out); err != nil {
		return err
	}
	if len(errs) > 0 {
		return StatusError{Status: strings.Join(errs, "\n"), StatusCode: 1}
	}
	return nil
}

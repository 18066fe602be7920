package command

import (
	"errors"
	"strings"

	"github.com/moby/moby/client"
)

// FilterOpt is a repeatable --filter name=value flag.
type FilterOpt struct {
	filters client.Filters
}

// NewFilterOpt returns an empty filter flag value.
func NewFilterOpt() *FilterOpt { return &FilterOpt{filters: client.Filters{}} }

func (f *FilterOpt) String() string {
	var s []string
	for k, vs := range f.filters {
		for v := range vs {
			s = append(s, k+"="+v)
		}
	}
	return strings.Join(s, " ")
}

// Set adds one name=value pair.
func (f *FilterOpt) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	name = strings.ToLower(strings.TrimSpace(name))
	if !ok || name == "" {
		return errors.New("bad format of filter (expected name=value)")
	}
	f.filters.Add(name, strings.TrimSpace(value))
	return nil
}

// Type names the flag's value in help.
func (f *FilterOpt) Type() string { return "filter" }

// Value returns the filters to send.
func (f *FilterOpt) Value() client.Filters { return f.filters }

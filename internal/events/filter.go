package events

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/events"
)

// filterKeys are the filters GET /events accepts, as dockerd's.
var filterKeys = []string{"config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "secret", "service", "type", "volume"}

// Filter selects events the way dockerd's events filter does: every key
// given must match (AND), any of a key's values may (OR). A nil Filter
// matches every event.
type Filter struct {
	args map[string][]string
}

// InvalidFilterError is an unknown filter key; its text is dockerd's.
type InvalidFilterError struct{ Key string }

func (e *InvalidFilterError) Error() string { return fmt.Sprintf("invalid filter '%s'", e.Key) }

// NewFilter checks the filter keys and returns the filter.
func NewFilter(args map[string][]string) (*Filter, error) {
	for k := range args {
		if !slices.Contains(filterKeys, k) {
			return nil, &InvalidFilterError{Key: k}
		}
	}
	return &Filter{args: args}, nil
}

// Match reports whether m passes the filter.
func (f *Filter) Match(m events.Message) bool {
	if f == nil {
		return true
	}
	return f.matchEvent(m) &&
		f.exact("type", string(m.Type)) &&
		f.exact("scope", m.Scope) &&
		f.byName(m, events.DaemonEventType) &&
		f.byName(m, events.ContainerEventType) &&
		f.byName(m, events.PluginEventType) &&
		f.byName(m, events.VolumeEventType) &&
		f.byName(m, events.NetworkEventType) &&
		f.byName(m, events.NodeEventType) &&
		f.byName(m, events.ServiceEventType) &&
		f.byName(m, events.SecretEventType) &&
		f.byName(m, events.ConfigEventType) &&
		f.matchImage(m) &&
		f.matchLabels(m.Actor.Attributes)
}

// exact: no values for key, or one equal to s.
func (f *Filter) exact(key, s string) bool {
	vs := f.args[key]
	return len(vs) == 0 || slices.Contains(vs, s)
}

// fuzzy: exact, or a value is a prefix of s (a short ID).
func (f *Filter) fuzzy(key, s string) bool {
	if f.exact(key, s) {
		return true
	}
	return slices.ContainsFunc(f.args[key], func(v string) bool { return strings.HasPrefix(s, v) })
}

// matchEvent: health_status, exec_create and exec_start also select their
// "action: detail" forms ("health_status: healthy").
func (f *Filter) matchEvent(m events.Message) bool {
	vs := f.args["event"]
	if slices.ContainsFunc(vs, func(v string) bool {
		return v == "health_status" || v == "exec_create" || v == "exec_start"
	}) {
		return f.fuzzy("event", string(m.Action))
	}
	return f.exact("event", string(m.Action))
}

// byName: a filter keyed by an object type (container=x) selects events of
// that type whose actor's ID or name attribute x names (ID prefixes too);
// events of other types do not pass it.
func (f *Filter) byName(m events.Message, t events.Type) bool {
	key := string(t)
	if len(f.args[key]) == 0 {
		return true
	}
	return f.fuzzy(key, m.Actor.ID) || f.fuzzy(key, m.Actor.Attributes["name"])
}

// matchImage: image=x selects image events of x and container events of
// containers made from x, by ID or reference, with or without its tag.
func (f *Filter) matchImage(m events.Message) bool {
	if len(f.args["image"]) == 0 {
		return true
	}
	attr := "image"
	if m.Type == events.ImageEventType {
		attr = "name"
	}
	name := m.Actor.Attributes[attr]
	return f.exact("image", m.Actor.ID) || f.exact("image", name) ||
		f.exact("image", stripTag(m.Actor.ID)) || f.exact("image", stripTag(name))
}

// matchLabels: every label=k or label=k=v must hold in the attributes.
func (f *Filter) matchLabels(attrs map[string]string) bool {
	for _, v := range f.args["label"] {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := attrs[k]
		if !ok || hasValue && got != want {
			return false
		}
	}
	return true
}

// stripTag drops a reference's digest and tag ("busybox:1.36" → "busybox").
func stripTag(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// Package formatter renders command output the way the docker CLI does for
// --format: "table" (optionally "table <template>"), "json" (one object per
// line) and Go templates with docker's helper functions (json, join, lower,
// upper, split, title, truncate, pad, println).
//
// It is written here rather than importing github.com/docker/cli/templates
// and .../formatter: that module pins its own moby, containerd and
// otel versions (its vendor.mod is the go.mod of the whole CLI), so importing
// it would pull docker/cli and its dependency graph into our go.mod for
// about a hundred lines of behaviour. The behaviour is matched against the
// real docker CLI (see testdata/ and the golden tests).
//
// It imports nothing of berth; command packages describe their rows as
// values with exported methods (the fields a template can name) and a
// header map.
package formatter

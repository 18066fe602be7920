package formatter

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/cli/clitest"
)

var now = time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	time.Local = time.UTC // CreatedAt prints local time, as docker's does
	os.Exit(m.Run())
}

// The goldens were checked against the docker 28 CLI reading the same
// sample from clitest's server.
func TestContainerGolden(t *testing.T) {
	data := clitest.Sample(now)
	cases := []struct {
		golden string
		format Format
		trunc  bool
	}{
		{"containers-table.golden", ContainerFormat, true},
		{"containers-table-notrunc.golden", ContainerFormat, false},
		{"containers-json.golden", JSONKey, true},
		{"containers-custom-table.golden", `table {{.ID}}\t{{.Names}}\t{{.Labels}}\t{{.CreatedAt}}`, true},
		{"containers-template.golden", `{{.Names}} {{.State}} {{.Label "tier"}}`, true},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			var rows []any
			for _, s := range data.Containers {
				rows = append(rows, NewContainerRow(s, c.trunc, now))
			}
			var b bytes.Buffer
			if err := (Context{Output: &b, Format: c.format}).Write(ContainerHeader, rows); err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, c.golden, b.String())
		})
	}
}

func TestImageGolden(t *testing.T) {
	data := clitest.Sample(now)
	cases := []struct {
		golden         string
		format         Format
		trunc, digests bool
	}{
		{"images-table.golden", ImageFormat, true, false},
		{"images-digests.golden", `table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`, true, true},
		{"images-json.golden", JSONKey, false, false},
		{"images-sizes.golden", `table {{.ID}}\t{{.Size}}\t{{.VirtualSize}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}`, true, false},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			var rows []any
			for _, img := range data.Images {
				for _, r := range ImageRows(img, c.trunc, c.digests, now) {
					rows = append(rows, r)
				}
			}
			var b bytes.Buffer
			if err := (Context{Output: &b, Format: c.format}).Write(ImageHeader, rows); err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, c.golden, b.String())
		})
	}
}

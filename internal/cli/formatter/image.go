package formatter

import (
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/image"
)

// ImageFormat is `images`'s default table.
const ImageFormat = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

// ImageHeader titles `images`'s columns.
var ImageHeader = Header{
	"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
	"VirtualSize": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
}

// ImageRow is one `images` row: one repository:tag of an image, or
// <none>:<none> for an untagged one.
type ImageRow struct {
	img       image.Summary
	repo, tag string
	digest    string
	trunc     bool
	now       time.Time
}

// ImageRows expands an image into its rows: one per repository:tag, then
// one per repository known only by digest; a dangling image gets one
// <none>:<none> row. With digests each row is repeated per digest of its
// repository and the Digest column is filled; without, it is <none>.
func ImageRows(img image.Summary, trunc, digests bool, now time.Time) []ImageRow {
	row := func(repo, tag, digest string) ImageRow {
		return ImageRow{img: img, repo: repo, tag: tag, digest: digest, trunc: trunc, now: now}
	}
	if len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
		return []ImageRow{row("<none>", "<none>", "<none>")}
	}
	var repos []string // in order of first appearance
	tags := map[string][]string{}
	dgsts := map[string][]string{}
	for _, rt := range img.RepoTags {
		repo, tag := splitRepoTag(rt)
		if repo == "<none>" {
			continue
		}
		if _, ok := tags[repo]; !ok {
			repos = append(repos, repo)
		}
		tags[repo] = append(tags[repo], tag)
	}
	for _, rd := range img.RepoDigests {
		repo, d, ok := strings.Cut(rd, "@")
		if !ok || repo == "<none>" {
			continue
		}
		if _, ok := tags[repo]; !ok {
			if _, seen := dgsts[repo]; !seen {
				repos = append(repos, repo)
			}
		}
		dgsts[repo] = append(dgsts[repo], d)
	}
	var rows []ImageRow
	for _, repo := range repos {
		ts, tagged := tags[repo]
		if !tagged {
			ts = []string{"<none>"}
		}
		for _, tag := range ts {
			if !digests || len(dgsts[repo]) == 0 {
				rows = append(rows, row(repo, tag, "<none>"))
				if !tagged {
					break
				}
				continue
			}
			for _, d := range dgsts[repo] {
				rows = append(rows, row(repo, tag, d))
			}
		}
	}
	if len(rows) == 0 {
		rows = append(rows, row("<none>", "<none>", "<none>"))
	}
	return rows
}

// splitRepoTag splits "host:5000/name:tag" at the tag's colon.
func splitRepoTag(rt string) (string, string) {
	i := strings.LastIndex(rt, ":")
	if i < 0 || strings.Contains(rt[i:], "/") {
		return rt, "<none>"
	}
	return rt[:i], rt[i+1:]
}

// MarshalJSON prints every field, as `--format json` does.
func (r ImageRow) MarshalJSON() ([]byte, error) { return MarshalFields(r) }

// ID is the image ID, 12 characters unless --no-trunc.
func (r ImageRow) ID() string {
	if r.trunc {
		return ShortID(r.img.ID)
	}
	return r.img.ID
}

// Repository is the name without the tag.
func (r ImageRow) Repository() string { return r.repo }

// Tag is the tag, or <none>.
func (r ImageRow) Tag() string { return r.tag }

// Digest is the repository digest, or <none>.
func (r ImageRow) Digest() string { return r.digest }

// CreatedSince is how long ago the image was created.
func (r ImageRow) CreatedSince() string {
	created := time.Unix(r.img.Created, 0)
	if created.IsZero() || r.img.Created == 0 {
		return "N/A"
	}
	return units.HumanDuration(r.now.UTC().Sub(created)) + " ago"
}

// CreatedAt is the creation time.
func (r ImageRow) CreatedAt() string { return time.Unix(r.img.Created, 0).String() }

// Size is the image's size, three significant digits.
func (r ImageRow) Size() string { return units.HumanSizeWithPrecision(float64(r.img.Size), 3) }

// VirtualSize is docker's older name for the size, four digits.
func (r ImageRow) VirtualSize() string { return units.HumanSize(float64(r.img.Size)) }

// SharedSize is the size shared with other images, or N/A.
func (r ImageRow) SharedSize() string { return sizeOrNA(r.img.SharedSize) }

// UniqueSize is the size not shared with other images, or N/A.
func (r ImageRow) UniqueSize() string {
	if r.img.SharedSize == -1 {
		return "N/A"
	}
	return units.HumanSize(float64(r.img.Size - r.img.SharedSize))
}

// Containers counts containers using the image, or N/A.
func (r ImageRow) Containers() string {
	if r.img.Containers == -1 {
		return "N/A"
	}
	return strconv.FormatInt(r.img.Containers, 10)
}

func sizeOrNA(n int64) string {
	if n == -1 {
		return "N/A"
	}
	return units.HumanSize(float64(n))
}

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// figure is one engine's number for one row: the median (or, for memory
// per container, the mean) with the p90 and the sample count.
type figure struct {
	Value float64 `json:"value"`
	P90   float64 `json:"p90,omitempty"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	N     int     `json:"n"`
}

// budget is what berth must meet on a row: at most MaxRatio times Docker's
// figure (when Docker ran) and, if MaxValue is set, at most MaxValue; for
// rows where more is better (throughput), at least MinRatio times Docker's.
type budget struct {
	MaxRatio float64 `json:"max_ratio,omitempty"`
	MaxValue float64 `json:"max_value,omitempty"`
	MinRatio float64 `json:"min_ratio,omitempty"`
}

func (b budget) String() string {
	var parts []string
	if b.MaxRatio > 0 {
		parts = append(parts, fmt.Sprintf("<=%gx", b.MaxRatio))
	}
	if b.MaxValue > 0 {
		parts = append(parts, fmt.Sprintf("<%g", b.MaxValue))
	}
	if b.MinRatio > 0 {
		parts = append(parts, fmt.Sprintf(">=%gx", b.MinRatio))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " & ")
}

type row struct {
	Bench  string  `json:"bench"`
	Name   string  `json:"name"`
	Stat   string  `json:"stat"` // what Value is: "median" or "mean"
	Unit   string  `json:"unit"`
	Docker *figure `json:"docker,omitempty"`
	Berth  *figure `json:"berth,omitempty"`
	Ratio  float64 `json:"ratio,omitempty"` // berth/docker of Value
	Budget *budget `json:"budget,omitempty"`
	Pass   *bool   `json:"pass,omitempty"`
	Note   string  `json:"note,omitempty"`
}

type results struct {
	Date          time.Time `json:"date"`
	Host          string    `json:"host"`
	Berth         string    `json:"berth"`
	Docker        string    `json:"docker,omitempty"`
	DockerMissing string    `json:"docker_missing,omitempty"`
	Load          string    `json:"load"` // /proc/loadavg at the start and at the end
	Rows          []row     `json:"rows"`
	Notes         []string  `json:"notes,omitempty"`
}

// add appends a row, computing the ratio and the verdict.
func (r *results) add(rw row) {
	if rw.Docker != nil && rw.Berth != nil && rw.Docker.Value > 0 {
		rw.Ratio = rw.Berth.Value / rw.Docker.Value
	}
	// A budget relative to Docker cannot be judged without Docker.
	judgeable := rw.Budget != nil && rw.Berth != nil && (rw.Docker != nil || rw.Budget.MaxValue > 0)
	if judgeable {
		pass := true
		if rw.Budget.MaxRatio > 0 && rw.Docker != nil && rw.Ratio > rw.Budget.MaxRatio {
			pass = false
		}
		if rw.Budget.MaxValue > 0 && rw.Berth.Value >= rw.Budget.MaxValue {
			pass = false
		}
		if rw.Budget.MinRatio > 0 && rw.Docker != nil && rw.Ratio < rw.Budget.MinRatio {
			pass = false
		}
		rw.Pass = &pass
	}
	r.Rows = append(r.Rows, rw)
}

func (r *results) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "\nberthd vs dockerd, %s, %s\n", r.Date.UTC().Format("2006-01-02 15:04 MST"), r.Host)
	fmt.Fprintf(w, "load average (1, 5, 15 min) %s\n", r.Load)
	fmt.Fprintf(w, "berth:  %s\n", r.Berth)
	if r.Docker != "" {
		fmt.Fprintf(w, "docker: %s\n", r.Docker)
	} else {
		fmt.Fprintf(w, "docker: not measured (%s): berth's numbers alone\n", r.DockerMissing)
	}
	fmt.Fprintf(w, "\n%-46s %-10s %-24s %-24s %7s  %-13s %s\n", "benchmark", "stat", "docker", "berth", "b/d", "budget (b)", "")
	for _, rw := range r.Rows {
		verdict := ""
		if rw.Pass != nil {
			verdict = map[bool]string{true: "ok", false: "FAIL"}[*rw.Pass]
		}
		ratio := "-"
		if rw.Ratio > 0 {
			ratio = fmt.Sprintf("%.3f", rw.Ratio)
		}
		bud := "-"
		if rw.Budget != nil {
			bud = rw.Budget.String()
		}
		fmt.Fprintf(w, "%-46s %-10s %-24s %-24s %7s  %-13s %s\n", rw.Name, rw.Stat+" "+rw.Unit, rw.Docker.format(rw.Stat), rw.Berth.format(rw.Stat), ratio, bud, verdict)
		if rw.Note != "" {
			fmt.Fprintf(w, "    %s\n", rw.Note)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func (f *figure) format(stat string) string {
	switch {
	case f == nil:
		return "-"
	case stat == "median":
		return fmt.Sprintf("%.1f (p90 %.1f)", f.Value, f.P90)
	case f.N > 1:
		return fmt.Sprintf("%.0f (max %.0f)", f.Value, f.Max)
	}
	return fmt.Sprintf("%.0f", f.Value)
}

// latency summarizes durations in milliseconds: nearest-rank median and p90.
func latency(d []time.Duration) *figure {
	if len(d) == 0 {
		return nil
	}
	ms := make([]float64, len(d))
	for i, x := range d {
		ms[i] = float64(x.Microseconds()) / 1000
	}
	return percentiles(ms)
}

func percentiles(v []float64) *figure {
	s := slices.Clone(v)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return &figure{Value: rank(0.5), P90: rank(0.9), Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// meanKiB summarizes memory per container (or per daemon): the mean, with
// the smallest and the largest.
func meanKiB(v []int64) *figure {
	if len(v) == 0 {
		return nil
	}
	var sum int64
	for _, x := range v {
		sum += x
	}
	return &figure{Value: float64(sum) / float64(len(v)), Min: float64(slices.Min(v)), Max: float64(slices.Max(v)), N: len(v)}
}

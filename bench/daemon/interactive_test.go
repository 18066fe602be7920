package main

import (
	"testing"
	"time"
)

func TestMinRatioVerdict(t *testing.T) {
	cases := []struct {
		name          string
		docker, berth float64
		want          bool
	}{
		{"faster", 100, 150, true},
		{"equal", 100, 100, true},
		{"slower", 100, 99, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r results
			r.add(row{Docker: &figure{Value: tc.docker}, Berth: &figure{Value: tc.berth}, Budget: &budget{MinRatio: 1}})
			if p := r.Rows[0].Pass; p == nil || *p != tc.want {
				t.Fatalf("pass %v, want %v", p, tc.want)
			}
		})
	}
	if s := (budget{MinRatio: 1}).String(); s != ">=1x" {
		t.Errorf("budget %q", s)
	}
}

func TestThroughput(t *testing.T) {
	f := throughput(100e6, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second})
	if f.Value != 50 || f.P90 != 25 || f.Min != 25 || f.Max != 100 || f.N != 3 {
		t.Fatalf("%+v", f)
	}
}

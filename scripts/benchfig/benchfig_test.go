package benchfig

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedianAndSpread(t *testing.T) {
	tests := []struct {
		name         string
		v            []float64
		med, lo, hi  float64
		wantNaNOfAll bool
	}{
		{"the median of an odd count is the middle value, whatever the order", []float64{30, 10, 20}, 20, 10, 30, false},
		{"the median of an even count is the mean of the two middle values", []float64{4, 1, 3, 2}, 2.5, 1, 4, false},
		{"one run is its own median and spread", []float64{7}, 7, 7, 7, false},
		{"no runs give no figure", nil, 0, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			med := Median(tc.v)
			lo, hi := Spread(tc.v)
			if tc.wantNaNOfAll {
				if !math.IsNaN(med) || !math.IsNaN(lo) || !math.IsNaN(hi) {
					t.Errorf("Median, Spread = %v, %v, %v; want NaN", med, lo, hi)
				}
				return
			}
			if med != tc.med || lo != tc.lo || hi != tc.hi {
				t.Errorf("Median, Spread = %v, %v–%v; want %v, %v–%v", med, lo, hi, tc.med, tc.lo, tc.hi)
			}
		})
	}
}

func TestGoals(t *testing.T) {
	tests := []struct {
		name    string
		fig     Figure
		verdict string
		ratio   string
	}{
		{"a throughput at 0.6 of the baseline meets a 0.6 goal",
			Figure{Unit: PerSecond, Values: []float64{600, 590, 700}, Base: []float64{1000, 900, 1100}, Goal: Goal{MinRatio: 0.6}}, "goal met", "0.60"},
		{"a throughput under 0.6 of the baseline misses it",
			Figure{Unit: PerSecond, Values: []float64{500, 590, 700}, Base: []float64{1000, 1000, 1000}, Goal: Goal{MinRatio: 0.6}}, "goal missed", "0.59"},
		{"a p99 at twice the baseline's meets a 2× goal",
			Figure{Unit: Millis, Values: []float64{40}, Base: []float64{20}, Goal: Goal{MaxRatio: 2}}, "goal met", "2.00"},
		{"a p99 above twice the baseline's misses it",
			Figure{Unit: Millis, Values: []float64{41}, Base: []float64{20}, Goal: Goal{MaxRatio: 2}}, "goal missed", "2.05"},
		{"a ratio goal without a baseline is missed, not met",
			Figure{Unit: PerSecond, Values: []float64{1000}, Goal: Goal{MinRatio: 0.6}}, "goal missed", "—"},
		{"an absolute limit is judged on the median, not the worst run",
			Figure{Unit: Millis, Values: []float64{900, 1500, 950}, Goal: Goal{Max: 1000}}, "goal met", "—"},
		{"an absolute limit is strict",
			Figure{Unit: Millis, Values: []float64{1000}, Goal: Goal{Max: 1000}}, "goal missed", "—"},
		{"a minimum is met at the minimum",
			Figure{Unit: Count, Values: []float64{100}, Goal: Goal{Min: 100}}, "goal met", "—"},
		{"a figure without a goal has no verdict",
			Figure{Unit: PerSecond, Values: []float64{100}}, "—", "—"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fig.Verdict(); got != tc.verdict {
				t.Errorf("Verdict = %q, want %q", got, tc.verdict)
			}
			row := tc.fig.Row()
			cells := strings.Split(row, "|")
			if len(cells) != 9 {
				t.Fatalf("Row has %d cells: %q", len(cells)-2, row)
			}
			if got := strings.TrimSpace(cells[5]); got != tc.ratio {
				t.Errorf("ratio cell = %q, want %q (row %q)", got, tc.ratio, row)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		u    Unit
		v    float64
		want string
	}{
		{"a throughput is rounded and grouped by thousands", PerSecond, 14655.6, "14,656/s"},
		{"a small latency keeps two decimals", Millis, 3.456, "3.46 ms"},
		{"a latency from 10 ms keeps one decimal", Millis, 26.74, "26.7 ms"},
		{"a latency from 100 ms is whole and grouped", Millis, 2415.4, "2,415 ms"},
		{"a count is grouped", Count, 1234567, "1,234,567"},
		{"seconds have one decimal", Seconds, 35.94, "35.9 s"},
		{"a missing value is a dash", PerSecond, math.NaN(), "—"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format(tc.u, tc.v); got != tc.want {
				t.Errorf("Format = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTableAppendsItsRowsToTheSummaryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("XF_BENCH_SUMMARY", path)
	figs := []Figure{
		{Name: "check-in", Unit: PerSecond, Values: []float64{1, 2, 3}, Base: []float64{2, 4, 6}, Goal: Goal{MinRatio: 0.6}},
		{Name: "fan-out", Unit: Millis, Values: []float64{500}, Goal: Goal{Max: 1000}},
	}
	var out strings.Builder
	for range 2 {
		if err := Table(&out, "title", figs); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat(figs[0].Row()+figs[1].Row(), 2)
	if string(raw) != want {
		t.Errorf("summary file:\n%s\nwant:\n%s", raw, want)
	}
	if !strings.Contains(out.String(), Header+figs[0].Row()) {
		t.Errorf("printed table lacks the header and rows:\n%s", out.String())
	}
}

func TestRunsComesFromTheEnvironment(t *testing.T) {
	tests := []struct {
		name, env string
		want      int
	}{
		{"unset means three runs", "", 3},
		{"a positive number is taken", "5", 5},
		{"zero falls back to three", "0", 3},
		{"garbage falls back to three", "many", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XF_BENCH_RUNS", tc.env)
			if got := Runs(); got != tc.want {
				t.Errorf("Runs = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestPercentilesOfARun(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if got, want := Percentiles(lat), "p50=50.0ms p90=90.0ms p99=99.0ms max=100ms"; got != want {
		t.Errorf("Percentiles = %q, want %q", got, want)
	}
	if got := Percentiles(nil); got != "(none)" {
		t.Errorf("Percentiles(nil) = %q, want (none)", got)
	}
	if got := Latency(3456 * time.Microsecond); got != "3.46ms" {
		t.Errorf("Latency(3.456ms) = %q, want 3.46ms", got)
	}
}

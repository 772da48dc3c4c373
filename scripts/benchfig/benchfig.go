// Package benchfig turns the runs of a benchmark into figures you can
// compare across days: the median of the runs, their spread (min–max), the
// bare-stack yardstick's median from the same run beside it, the ratio of
// the two medians and a goal judged on them.
//
// Machines of one kind differ from day to day by a factor of two; a ratio to
// the bare stack measured in the same run does not. The load generators
// (scripts/bench, server/cmd/checkinbench, server/cmd/pushbench) collect one
// value per run for each figure and print a Table at the end. When the
// environment variable XF_BENCH_SUMMARY names a file, the table's rows are
// appended to it too, so that scripts/bench-all.sh can print one table for
// all the benchmarks of a run.
package benchfig

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Unit says how a figure's values are written.
type Unit int

const (
	// PerSecond is a throughput: 5,587/s.
	PerSecond Unit = iota
	// Millis is a latency in milliseconds: 26.7 ms.
	Millis
	// Count is a plain number: 128.
	Count
	// Seconds is a wall time in seconds: 35.9 s.
	Seconds
)

// Goal judges a figure. Exactly one of its forms is used:
//
//   - MinRatio > 0: the figure's median must be at least MinRatio × the
//     baseline's median (a throughput);
//   - MaxRatio > 0: at most MaxRatio × the baseline's median (a latency);
//   - Max > 0: the median must stay below Max (in the figure's unit);
//   - Min > 0: the median must be at least Min.
type Goal struct {
	MinRatio, MaxRatio float64
	Max, Min           float64
}

// Figure is one measured quantity over the runs of a benchmark.
type Figure struct {
	Name   string
	Unit   Unit
	Values []float64 // one per run
	Base   []float64 // the baseline's, one per run; nil if it has none
	Goal   Goal
	// Note is printed in the goal column when the figure has no goal.
	Note string
}

// Median is the middle value (the mean of the two middle ones for an even
// count); NaN without values.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Spread is the smallest and the largest value.
func Spread(v []float64) (lo, hi float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(v), slices.Max(v)
}

// Ratio is the figure's median over the baseline's, NaN without a baseline.
func (f Figure) Ratio() float64 {
	if len(f.Base) == 0 {
		return math.NaN()
	}
	b := Median(f.Base)
	if b == 0 {
		return math.NaN()
	}
	return Median(f.Values) / b
}

// Judged reports whether the figure has a goal.
func (f Figure) Judged() bool {
	g := f.Goal
	return g.MinRatio > 0 || g.MaxRatio > 0 || g.Max > 0 || g.Min > 0
}

// Met reports whether the goal is met; a ratio goal without a baseline is
// missed, since nothing was measured to judge it by.
func (f Figure) Met() bool {
	g, m := f.Goal, Median(f.Values)
	if math.IsNaN(m) {
		return false
	}
	switch {
	case g.MinRatio > 0:
		r := f.Ratio()
		return !math.IsNaN(r) && r >= g.MinRatio
	case g.MaxRatio > 0:
		r := f.Ratio()
		return !math.IsNaN(r) && r <= g.MaxRatio
	case g.Max > 0:
		return m < g.Max
	case g.Min > 0:
		return m >= g.Min
	}
	return false
}

// GoalText describes the goal: "≥ 0.60 × baseline", "< 1,000 ms".
func (f Figure) GoalText() string {
	g := f.Goal
	switch {
	case g.MinRatio > 0:
		return fmt.Sprintf("≥ %.2f × baseline", g.MinRatio)
	case g.MaxRatio > 0:
		return fmt.Sprintf("≤ %.2g × baseline", g.MaxRatio)
	case g.Max > 0:
		return "< " + Format(f.Unit, g.Max)
	case g.Min > 0:
		return "≥ " + Format(f.Unit, g.Min)
	}
	if f.Note != "" {
		return f.Note
	}
	return "—"
}

// Verdict is "goal met", "goal missed" or "—" without a goal.
func (f Figure) Verdict() string {
	if !f.Judged() {
		return "—"
	}
	return Verdict(f.Met())
}

// Verdict is "goal met" or "goal missed", the words of a judged figure, for
// the lines a benchmark prints about a goal it judges itself.
func Verdict(met bool) string {
	if met {
		return "goal met"
	}
	return "goal missed"
}

// Format writes a value in a unit, with thousands separators.
func Format(u Unit, v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	switch u {
	case PerSecond:
		return group(int64(math.Round(v))) + "/s"
	case Millis:
		switch {
		case v >= 100:
			return group(int64(math.Round(v))) + " ms"
		case v >= 10:
			return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
		}
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	case Seconds:
		return strconv.FormatFloat(v, 'f', 1, 64) + " s"
	}
	return group(int64(math.Round(v)))
}

// Ms is a duration in (fractional) milliseconds, for Millis values.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Latency writes a latency for a benchmark's run line: whole milliseconds
// from 100 ms, one decimal from 10 ms, two below ("3.46ms").
func Latency(d time.Duration) string {
	f := Ms(d)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0fms", f)
	case f >= 10:
		return fmt.Sprintf("%.1fms", f)
	}
	return fmt.Sprintf("%.2fms", f)
}

// Percentile is the latency below which fraction p of the sorted latencies
// lie (nearest rank), 0 without latencies.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Percentiles sorts lat and writes its p50, p90, p99 and maximum, or
// "(none)" without latencies.
func Percentiles(lat []time.Duration) string {
	if len(lat) == 0 {
		return "(none)"
	}
	slices.Sort(lat)
	return fmt.Sprintf("p50=%s p90=%s p99=%s max=%s", Latency(Percentile(lat, 0.5)), Latency(Percentile(lat, 0.9)),
		Latency(Percentile(lat, 0.99)), Latency(lat[len(lat)-1]))
}

// group writes n with a comma every three digits.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Header is the first two lines of a table in Markdown.
const Header = "| figure | median | spread (min–max) | baseline median | ratio | goal | result |\n" +
	"| --- | --: | --: | --: | --: | --- | --- |\n"

// Row is the figure's line of the table in Markdown.
func (f Figure) Row() string {
	lo, hi := Spread(f.Values)
	spread := Format(f.Unit, lo) + " – " + Format(f.Unit, hi)
	base, ratio := "—", "—"
	if len(f.Base) > 0 {
		base = Format(f.Unit, Median(f.Base))
		if r := f.Ratio(); !math.IsNaN(r) {
			ratio = strconv.FormatFloat(r, 'f', 2, 64)
		}
	}
	return fmt.Sprintf("| %s (%d runs) | %s | %s | %s | %s | %s | %s |\n",
		f.Name, len(f.Values), Format(f.Unit, Median(f.Values)), spread, base, ratio, f.GoalText(), f.Verdict())
}

// Table writes the figures as a Markdown table under a title line, then
// appends their rows to the file named by XF_BENCH_SUMMARY, if any.
func Table(w io.Writer, title string, figs []Figure) error {
	var b strings.Builder
	for _, f := range figs {
		b.WriteString(f.Row())
	}
	fmt.Fprintf(w, "\n%s\n\n%s%s\n", title, Header, b.String())
	path := os.Getenv("XF_BENCH_SUMMARY")
	if path == "" {
		return nil
	}
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("benchfig: summary file: %w", err)
	}
	if _, err := file.WriteString(b.String()); err != nil {
		file.Close()
		return fmt.Errorf("benchfig: summary file: %w", err)
	}
	return file.Close()
}

// Runs is the default number of runs of each measurement: XF_BENCH_RUNS, or
// 3.
func Runs() int {
	if n, err := strconv.Atoi(os.Getenv("XF_BENCH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// Command testtime measures the README's test command (scripts/testtime.sh
// runs it after warming the build cache): benchfig.Runs() times `go test
// -count=1 ./...` beside the same command with -run '^$', which builds and
// links every test binary and runs none, a yardstick of the machine's speed
// in the same run. It prints both as a benchfig table (the suite's goal:
// under 40 s), then from one more run with -json every test that took
// 0.5 s or more, slowest first, a test over a second marked: no test may
// wait on the wall clock for more than a second, and whether a marked one
// waits or works is read from the test itself.
//
// A test with subtests is left out when a subtest is listed: its time is
// theirs added up, and the slow one is the subtest.
package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"xianfeng/scripts/benchfig"
)

// listed is how long a test takes to be listed; over limit it is a goal missed.
const listed, limit = 0.5, 1.0

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testtime:", err)
		os.Exit(1)
	}
}

func run() error {
	suite := benchfig.Figure{Name: "go test -count=1 ./...", Unit: benchfig.Seconds, Goal: benchfig.Goal{Max: 40}}
	yard := benchfig.Figure{Name: "build and link only (-run '^$'), the yardstick", Unit: benchfig.Seconds}
	for i := range benchfig.Runs() {
		y, err := timed("-run", "^$")
		if err != nil {
			return err
		}
		s, err := timed()
		if err != nil {
			return err
		}
		fmt.Printf("run %d: go test -count=1 ./... %.1f s; build and link only %.1f s\n", i+1, s, y)
		suite.Values, yard.Values = append(suite.Values, s), append(yard.Values, y)
	}
	// The ratio column of the suite's row is suite / yardstick.
	suite.Base = yard.Values
	if err := benchfig.Table(os.Stdout, "summary of go test's time (ratio: to the yardstick of the same run)",
		[]benchfig.Figure{suite, yard}); err != nil {
		return err
	}

	fmt.Printf("tests that took %.1f s or more (one more run, -json):\n", listed)
	out, err := exec.Command("go", "test", "-count=1", "-json", "./...").Output()
	slow := slowTests(out)
	over := 0
	for _, e := range slow {
		mark := ""
		if e.Elapsed > limit {
			over++
			mark = "  (over 1 s)"
		}
		fmt.Printf("%5.2f s  %s  %s%s\n", e.Elapsed, strings.TrimPrefix(e.Package, "xianfeng/"), e.Test, mark)
	}
	fmt.Printf("tests over 1 s: %d (the goal is that none waits on the clock that long; see whether each waits or works)\n", over)
	if err != nil {
		return fmt.Errorf("go test -json: %w", err)
	}
	return nil
}

// timed runs go test -count=1 ./... with args and returns its wall time in
// seconds; a failing test is an error.
func timed(args ...string) (float64, error) {
	cmd := exec.Command("go", append(append([]string{"test", "-count=1"}, args...), "./...")...)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go test %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return time.Since(start).Seconds(), nil
}

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
}

// slowTests returns the tests of go test -json's output that passed or
// failed in listed seconds or more and have no subtest that did, slowest
// first.
func slowTests(out []byte) []event {
	var slow []event
	parents := map[[2]string]bool{} // package and test with a slow subtest
	for line := range bytes.Lines(out) {
		var e event
		if json.Unmarshal(line, &e) != nil || e.Test == "" || e.Elapsed < listed || (e.Action != "pass" && e.Action != "fail") {
			continue
		}
		slow = append(slow, e)
		for i := strings.LastIndexByte(e.Test, '/'); i > 0; i = strings.LastIndexByte(e.Test[:i], '/') {
			parents[[2]string{e.Package, e.Test[:i]}] = true
		}
	}
	slow = slices.DeleteFunc(slow, func(e event) bool { return parents[[2]string{e.Package, e.Test}] })
	slices.SortStableFunc(slow, func(a, b event) int { return cmp.Compare(b.Elapsed, a.Elapsed) })
	return slow
}

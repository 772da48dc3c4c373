// Command testtime reads the output of `go test -json` (a file named as
// its argument) and lists the tests that took 0.5 s or more, slowest
// first: scripts/testtime.sh prints it so that a test that waits on the
// wall clock shows.
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
	"slices"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: testtime FILE (the output of go test -json)")
		os.Exit(2)
	}
	slow, err := read(os.Args[1], 0.5)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testtime:", err)
		os.Exit(1)
	}
	if len(slow) == 0 {
		fmt.Println("none")
	}
	for _, e := range slow {
		fmt.Printf("%5.2f s  %s  %s\n", e.Elapsed, strings.TrimPrefix(e.Package, "xianfeng/"), e.Test)
	}
}

// read returns the tests of the file that passed or failed in at least
// min seconds and have no subtest that did, slowest first.
func read(name string, min float64) ([]event, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var slow []event
	for line := range bytes.Lines(data) {
		var e event
		if json.Unmarshal(line, &e) != nil || e.Test == "" || e.Elapsed < min {
			continue
		}
		if e.Action == "pass" || e.Action == "fail" {
			slow = append(slow, e)
		}
	}
	slow = slices.DeleteFunc(slow, func(p event) bool {
		return slices.ContainsFunc(slow, func(c event) bool {
			return c.Package == p.Package && strings.HasPrefix(c.Test, p.Test+"/")
		})
	})
	slices.SortStableFunc(slow, func(a, b event) int { return cmp.Compare(b.Elapsed, a.Elapsed) })
	return slow, nil
}

package main

import "testing"

// TestSlowTestsListsTheSlowLeavesSlowestFirst: a parent whose time is its
// slow subtests' is not listed again (however deep they are), fast tests
// and non-test events are not listed, and the slowest comes first.
func TestSlowTestsListsTheSlowLeavesSlowestFirst(t *testing.T) {
	out := []byte(`{"Action":"pass","Package":"p","Test":"TestA/slow","Elapsed":0.9}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":1.2}
{"Action":"pass","Package":"p","Test":"TestD/x/deep","Elapsed":0.7}
{"Action":"pass","Package":"p","Test":"TestD","Elapsed":0.8}
{"Action":"pass","Package":"p","Test":"TestB","Elapsed":1.5}
{"Action":"fail","Package":"q","Test":"TestA","Elapsed":0.6}
{"Action":"pass","Package":"p","Test":"TestFast","Elapsed":0.1}
{"Action":"output","Package":"p","Test":"TestC","Elapsed":3}
{"Action":"pass","Package":"p","Elapsed":4}
not json
`)
	got := slowTests(out)
	want := []event{
		{Action: "pass", Package: "p", Test: "TestB", Elapsed: 1.5},
		{Action: "pass", Package: "p", Test: "TestA/slow", Elapsed: 0.9},
		{Action: "pass", Package: "p", Test: "TestD/x/deep", Elapsed: 0.7},
		{Action: "fail", Package: "q", Test: "TestA", Elapsed: 0.6},
	}
	if len(got) != len(want) {
		t.Fatalf("slowTests = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("slowTests[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

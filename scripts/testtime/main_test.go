package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadListsTheSlowLeavesSlowestFirst: a parent whose time is its slow
// subtest's is not listed again, fast tests and non-test events are not
// listed, and the slowest comes first.
func TestReadListsTheSlowLeavesSlowestFirst(t *testing.T) {
	name := filepath.Join(t.TempDir(), "out.json")
	lines := `{"Action":"pass","Package":"p","Test":"TestA/slow","Elapsed":0.9}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":1.2}
{"Action":"pass","Package":"p","Test":"TestB","Elapsed":1.5}
{"Action":"fail","Package":"q","Test":"TestA","Elapsed":0.6}
{"Action":"pass","Package":"p","Test":"TestFast","Elapsed":0.1}
{"Action":"output","Package":"p","Test":"TestC","Elapsed":3}
{"Action":"pass","Package":"p","Elapsed":4}
not json
`
	if err := os.WriteFile(name, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := read(name, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	want := []event{
		{Action: "pass", Package: "p", Test: "TestB", Elapsed: 1.5},
		{Action: "pass", Package: "p", Test: "TestA/slow", Elapsed: 0.9},
		{Action: "fail", Package: "q", Test: "TestA", Elapsed: 0.6},
	}
	if len(got) != len(want) {
		t.Fatalf("read = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("read[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

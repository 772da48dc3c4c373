package contract_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that keeps the failures reported to it instead of failing the
// test, so a test can assert what the contract checks find.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func newRecorder(t *testing.T) *recorder { return &recorder{TB: t} }

// Helper does nothing: the recorder is not a real test.
func (r *recorder) Helper() {}

// Errorf records the failure.
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// failures returns the recorded failures.
func (r *recorder) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// expect fails t unless the recorder got exactly one failure per entry of want, in order,
// each containing every substring of its entry.
func (r *recorder) expect(t *testing.T, want ...[]string) {
	t.Helper()
	got := r.failures()
	if len(got) != len(want) {
		t.Fatalf("got %d failures, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, parts := range want {
		for _, part := range parts {
			if !strings.Contains(got[i], part) {
				t.Errorf("failure %d = %q, want it to mention %q", i, got[i], part)
			}
		}
	}
}

package testdb

import (
	"testing"
	"time"
)

// Eventually polls cond every 100 ms until it holds, and fails the test
// when timeout passes first: for what the queue's workers do on their own
// real-time schedule.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

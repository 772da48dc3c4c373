package loadgen

import (
	"sync/atomic"
	"testing"
)

func TestEachCallsEveryIndexOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		n, c int
	}{
		{"more calls than workers", 1000, 8},
		{"more workers than calls", 3, 16},
		{"no calls", 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := make([]atomic.Int32, tc.n)
			Each(tc.n, tc.c, func(i int) { seen[i].Add(1) })
			for i := range seen {
				if got := seen[i].Load(); got != 1 {
					t.Fatalf("index %d called %d times, want once", i, got)
				}
			}
		})
	}
}

package drive

import (
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRepeatWarmsOnceIntoTheBodyThenTimesN(t *testing.T) {
	var calls, discarded int
	get := func(path string, w io.Writer) (int64, error) {
		calls++
		if w == io.Discard {
			discarded++
		}
		n, err := io.WriteString(w, path)
		return int64(n), err
	}
	var body strings.Builder
	_, lat, err := Repeat(get, "/p", &body, 3)
	if err != nil {
		t.Fatal(err)
	}
	if body.String() != "/p" || calls != 4 || discarded != 3 || len(lat) != 3 {
		t.Errorf("body %q, %d calls (%d discarded), %d latencies; want /p, 4 (3), 3", body.String(), calls, discarded, len(lat))
	}
	boom := errors.New("boom")
	if _, _, err := Repeat(func(string, io.Writer) (int64, error) { return 0, boom }, "/p", io.Discard, 3); !errors.Is(err, boom) {
		t.Errorf("Repeat of a failing GET = %v, want %v", err, boom)
	}
}

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
